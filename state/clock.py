"""Event time as integers: microseconds and UTC days since the Unix epoch.

Integers compare and hash fast on the per-event path and make a day boundary a
plain floor division, whatever offset an event was sent with.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta

US_PER_SECOND = 1_000_000
US_PER_DAY = 86_400 * US_PER_SECOND
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)
_EPOCH_ORDINAL = EPOCH.date().toordinal()
_MONTHS_PER = {"month": 1, "quarter": 3, "year": 12}
_DAYS_PER = {"day": 1, "week": 7}


def to_micros(moment: datetime) -> int:
    return (moment - EPOCH) // ONE_US


def from_micros(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def day_of(micros: int) -> int:
    return micros // US_PER_DAY


def day_to_date(day: int) -> date:
    return date.fromordinal(_EPOCH_ORDINAL + day)


def date_to_day(when: date) -> int:
    return when.toordinal() - _EPOCH_ORDINAL


def iso_utc(micros: int) -> str:
    return from_micros(micros).isoformat().replace("+00:00", "Z")


def days(count: int) -> int:
    """A duration of `count` days in microseconds."""
    return count * US_PER_DAY


LAST_MICROS = to_micros(datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC))
"""The last instant a date-time can hold; nothing is ever scheduled after it."""


def add_interval(micros: int, interval: str, count: int) -> int | None:
    """`micros + count x interval`; months are calendar months clamped to the month's end.

    None when the result is past year 9999: a period that long never ends (its
    account is paid through forever, docs/DECISIONS.md 39).
    """
    if interval in _DAYS_PER:
        end = micros + _DAYS_PER[interval] * count * US_PER_DAY
        return end if end <= LAST_MICROS else None
    start = from_micros(micros)
    months = start.month - 1 + _MONTHS_PER[interval] * count
    year, month = start.year + months // 12, months % 12 + 1
    if year > 9999:
        return None
    day = min(start.day, calendar.monthrange(year, month)[1])
    return to_micros(start.replace(year=year, month=month, day=day))
