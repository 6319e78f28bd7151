"""The fault suite's fixtures: one stream per test module's seed, the settings it runs with."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from models.settings import Settings
from tests.support.faults import create_input_topics
from tests.support.workers import Workers, worker_settings


def fault_settings(base: Settings) -> Settings:
    """The integration settings; a partition idles after 5 s without input (METRICS.md "Idle
    partitions"), long enough that none idles in the middle of the stream on a loaded machine,
    and a record waits 500 ms for its partition's other topics (DECISIONS.md 40): a CI machine
    shared by the broker, two or three workers and the producer answers slowly."""
    return worker_settings(base).model_copy(update={"idle_ms": 5000, "merge_wait_ms": 500})


@pytest.fixture
def settings(fresh_names: Settings) -> Settings:
    settings = fault_settings(fresh_names)
    create_input_topics(settings)
    return settings


@pytest.fixture
def group(settings: Settings, tmp_path: Path) -> Iterator[Workers]:
    workers = Workers(settings, tmp_path)
    yield workers
    workers.stop_all()
