"""Fixtures shared by the demo world's tests: the worlds themselves, and how to read a line.

The default world is built once per session (it is the slowest part of these
tests), with and without traps. The line readers are fixtures rather than
imports so that no test module depends on another.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import orjson
import pytest

from agents.demo import DEMO_FX_RATES, Line, WorldSpec, generate, generate_labelled
from models.decode import Decoder
from models.settings import Settings


@pytest.fixture(scope="session")
def world() -> list[tuple[str | None, Line]]:
    """The default world (400 accounts, 180 days), with its trap labels."""
    return list(generate_labelled(WorldSpec()))


@pytest.fixture(scope="session")
def clean() -> list[Line]:
    """The default world without traps."""
    return list(generate(WorldSpec(traps=False)))


@pytest.fixture(scope="session")
def small() -> WorldSpec:
    """A world small enough to generate several times in one test."""
    return WorldSpec(seed=11, accounts=60, days=60)


@pytest.fixture(scope="session")
def decoder() -> Decoder:
    return Decoder(Settings(fx_rates=DEMO_FX_RATES))


def _value(line: Line) -> dict[str, object]:
    value = line["value"]
    assert isinstance(value, dict)
    return value


def _instant(line: Line) -> datetime:
    return datetime.fromisoformat(str(_value(line)["occurred_at"]))


def _raw(line: Line) -> bytes:
    value = line["value"]
    return value.encode() if isinstance(value, str) else orjson.dumps(value)


@pytest.fixture(scope="session")
def value_of() -> Callable[[Line], dict[str, object]]:
    """A good line's message, as a dict."""
    return _value


@pytest.fixture(scope="session")
def instant_of() -> Callable[[Line], datetime]:
    """A good line's `occurred_at`."""
    return _instant


@pytest.fixture(scope="session")
def raw_of() -> Callable[[Line], bytes]:
    """A line's message as the bytes on the bus (bad messages are raw text already)."""
    return _raw
