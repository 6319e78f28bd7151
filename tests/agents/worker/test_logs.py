"""The worker's logging: quiet libraries, the fresh-broker coordinator error downgraded."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from aiokafka.errors import CoordinatorNotAvailableError, GroupAuthorizationFailedError

from agents.worker.logs import (
    COORDINATOR_LOGGERS,
    LIBRARIES,
    CoordinatorNotReady,
    library_level,
    quiet_libraries,
    startup_lines,
)
from models.settings import Settings

COORDINATOR = COORDINATOR_LOGGERS[0]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records() -> Iterator[_Records]:
    """Records reaching a handler on the libraries' loggers; their levels and filters are
    restored afterwards."""
    names = [*LIBRARIES, *COORDINATOR_LOGGERS]
    saved = {n: (logging.getLogger(n).level, list(logging.getLogger(n).filters)) for n in names}
    handler = _Records()
    logging.getLogger("aiokafka").addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger("aiokafka").removeHandler(handler)
        for name, (level, filters) in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.filters[:] = filters


def _coordinator_failed(error: Exception) -> None:
    logging.getLogger(COORDINATOR).error("Group Coordinator Request failed: %s", error)


def test_fresh_broker_coordinator_error_is_hidden_by_default(records: _Records) -> None:
    quiet_libraries(library_level({}))
    _coordinator_failed(CoordinatorNotAvailableError())
    logging.getLogger(COORDINATOR).warning("something else")
    assert [r.getMessage() for r in records.records] == ["something else"]


def test_fresh_broker_coordinator_error_is_info_when_libraries_log_info(
    records: _Records,
) -> None:
    quiet_libraries(library_level({"GROWTH_LOG_LEVEL": "info"}))
    _coordinator_failed(CoordinatorNotAvailableError())
    (record,) = records.records
    assert (record.levelno, record.levelname) == (logging.INFO, "INFO")
    assert "CoordinatorNotAvailable" in record.getMessage()


def test_a_coordinator_error_that_is_not_retried_stays_an_error(records: _Records) -> None:
    quiet_libraries(logging.WARNING)
    _coordinator_failed(GroupAuthorizationFailedError())
    (record,) = records.records
    assert record.levelno == logging.ERROR


def test_the_filter_passes_other_records_unchanged() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "other %s", ("a",), None)
    assert CoordinatorNotReady().filter(record)
    assert record.levelno == logging.ERROR


def test_libraries_are_quiet_by_default_and_the_filter_is_added_once(records: _Records) -> None:
    quiet_libraries(logging.WARNING)
    quiet_libraries(logging.WARNING)
    assert {logging.getLogger(n).level for n in LIBRARIES} == {logging.WARNING}
    for name in COORDINATOR_LOGGERS:
        filters = logging.getLogger(name).filters
        assert sum(isinstance(f, CoordinatorNotReady) for f in filters) == 1
    records.records.clear()
    logging.getLogger("aiokafka.consumer.subscription_state").info("Updating subscribed topics")
    assert records.records == []


@pytest.mark.parametrize(
    ("text", "level"),
    [("", logging.WARNING), (" debug ", logging.DEBUG), ("INFO", logging.INFO)],
)
def test_library_level(text: str, level: int) -> None:
    assert library_level({"GROWTH_LOG_LEVEL": text}) == level


def test_library_level_refuses_an_unknown_name() -> None:
    with pytest.raises(ValueError, match="GROWTH_LOG_LEVEL: 'LOUD' is not a level"):
        library_level({"GROWTH_LOG_LEVEL": "loud"})


def test_startup_lines_say_where_the_worker_listens_and_what_it_reads() -> None:
    settings = Settings(topic_partitions=3, topic_payments="pay")
    text = "\n".join(startup_lines(settings, "0.0.0.0", 6070))
    assert "http://0.0.0.0:6070/" in text
    assert "pay," in text and "(3 partitions each)" in text
    assert len(text.splitlines()) == 3
