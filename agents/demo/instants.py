"""Instants as whole seconds since the epoch: calendar periods and RFC 3339 text.

Why it exists: the generator computes in integer seconds (cheap to add and
compare) and only writes text at the end; renewals must fall exactly where the
engine's `paid_through` puts them, and formatting is hot enough to need a cache.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from typing import Final

DAY: Final = 86_400
HOUR: Final = 3_600
MINUTE: Final = 60

_UNIX: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND: Final = timedelta(seconds=1)


def to_seconds(moment: datetime) -> int:
    return (moment - _UNIX) // _SECOND


def add_interval(t: int, interval: str, count: int) -> int:
    """`t + count x interval`: calendar months clamped to the month's end, as the engine does.

    A renewal is due exactly when the engine's `paid_through` says it is.
    """
    if interval == "day":
        return t + count * DAY
    if interval == "week":
        return t + 7 * count * DAY
    moment = _UNIX + timedelta(seconds=t)
    months = moment.month - 1 + {"month": 1, "quarter": 3, "year": 12}[interval] * count
    year, month = moment.year + months // 12, months % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return to_seconds(moment.replace(year=year, month=month, day=day))


class Stamps:
    """RFC 3339 text of an instant in a given offset, fast (dates cached per day).

    `datetime.isoformat` per event would be a large part of the generation time.
    """

    __slots__ = ("_dates",)

    def __init__(self) -> None:
        self._dates: dict[int, str] = {}

    def format(self, t: int, offset_min: int, suffix: str) -> str:
        local = t + offset_min * MINUTE
        day, second = divmod(local, DAY)
        text = self._dates.get(day)
        if text is None:
            text = self._dates[day] = (_UNIX + timedelta(days=day)).date().isoformat()
        hour, rest = divmod(second, HOUR)
        minute, sec = divmod(rest, MINUTE)
        return f"{text}T{hour:02d}:{minute:02d}:{sec:02d}{suffix}"


def offset_suffix(offset_min: int, zulu: bool) -> str:
    if offset_min == 0 and zulu:
        return "Z"
    sign = "-" if offset_min < 0 else "+"
    hours, minutes = divmod(abs(offset_min), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"
