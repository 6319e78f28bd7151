"""`models.events`: what the event models hand the engine beyond validation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from models.events import EPOCH_AS_PARSED, Activity

_ONE_US = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _occurred(text: str) -> datetime:
    message = {"event_id": "e", "occurred_at": text, "account_id": "a", "user_id": "u"}
    return Activity.model_validate_json(orjson.dumps(message)).occurred_at


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("2026-03-01T12:00:00.000001Z", 1772366400000001),
        ("2026-03-01T12:00:00+00:00", 1772366400000000),
        ("2026-03-01T17:30:00+05:30", 1772366400000000),
        ("2026-03-01T04:00:00-08:00", 1772366400000000),
        ("0001-01-01T00:00:00Z", -62135596800000000),
        ("9999-12-31T23:59:59.999999Z", 253402300799999999),
    ],
)
def test_an_event_time_minus_the_parsed_epoch_is_exact_whatever_its_offset(
    text: str, micros: int
) -> None:
    occurred = _occurred(text)
    assert (occurred - EPOCH_AS_PARSED) // _ONE_US == micros
    assert (occurred - _EPOCH) // _ONE_US == micros


def test_the_parsed_epoch_is_the_epoch_with_the_tzinfo_of_parsed_utc_times() -> None:
    """The engine's fast path: a UTC event time shares the epoch's tzinfo object, so their
    difference skips both `utcoffset` calls. Fails if pydantic stops sharing it (the
    figures stay right; only that saving is gone)."""
    assert EPOCH_AS_PARSED == _EPOCH
    assert _occurred("2026-03-01T12:00:00Z").tzinfo is EPOCH_AS_PARSED.tzinfo
    assert _occurred("2026-03-01T12:00:00+00:00").tzinfo is EPOCH_AS_PARSED.tzinfo
