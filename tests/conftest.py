"""Every test runs with no `GROWTH_*` variable of the caller's environment: a setting a test
needs is given by the test itself (its Settings, its EngineConfig, or its worker's env).
The variables that configure the test run are read once, by tests/support/environment.py."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

import tests.support.environment  # noqa: F401  (reads the run's variables before any test)

pytest_plugins = ["tests.support.services", "tests.support.redis_server", "tests.support.browser"]


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("GROWTH_"):
            monkeypatch.delenv(name)
    yield
