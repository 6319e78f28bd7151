"""The oracle's configuration and its time arithmetic (see ``oracle.py``).

All times are integer microseconds since 1970-01-01T00:00:00Z, all days
integer day numbers since 1970-01-01 (UTC).
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

__all__ = [
    "DEFAULT_CONFIG",
    "DEFAULT_TOPICS",
    "KIND_RANK",
    "MAX_US",
    "US_PER_DAY",
    "US_PER_HOUR",
    "OracleConfig",
    "date_text",
    "day_of",
    "paid_through",
    "time_text",
    "us_to_datetime",
]

DEFAULT_TOPICS: Mapping[str, str] = {
    "signups": "signup",
    "payments": "payment",
    "cancellations": "cancellation",
    "activity": "activity",
    "surveys": "survey",
}

# the worker's merge order of its five topics, by event kind (METRICS.md
# "Partitions": "Kafka record timestamp, then topic, then offset"); any other
# line (unknown topic, not a replay line) comes last
KIND_RANK: Mapping[str, int] = {
    "signup": 0,
    "payment": 1,
    "cancellation": 2,
    "activity": 3,
    "survey": 4,
}
OTHER_RANK = 5


def _default_rates() -> Mapping[str, Decimal]:
    return {"USD": Decimal(1)}


def _default_topics() -> Mapping[str, str]:
    return dict(DEFAULT_TOPICS)


@dataclass(frozen=True)
class OracleConfig:
    reporting_currency: str = "USD"
    fx_rates: Mapping[str, Decimal] = field(default_factory=_default_rates)
    window_days: int = 30
    nps_window_days: int = 90
    lateness_days: int = 30
    lapse_grace_days: int = 14
    max_message_bytes: int = 1_000_000
    topics: Mapping[str, str] = field(default_factory=_default_topics)
    # the worker's partition count; 1 is the single stream of METRICS.md
    partitions: int = 1
    # F of METRICS.md "Too far ahead"
    max_future_seconds: int = 3600
    # H of METRICS.md "Duplicates" (activity and surveys)
    dedupe_hours: int = 24


DEFAULT_CONFIG = OracleConfig()

US_PER_HOUR = 3_600 * 1_000_000
US_PER_DAY = 24 * US_PER_HOUR
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)
EPOCH_DATE = date(1970, 1, 1)
# the last representable instant, 9999-12-31T23:59:59.999999Z
MAX_US = (datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC) - EPOCH) // ONE_US


def day_of(t_us: int) -> int:
    """UTC calendar day (days since 1970-01-01) of a time (D1)."""
    return t_us // US_PER_DAY


def us_to_datetime(t_us: int) -> datetime:
    return EPOCH + timedelta(microseconds=t_us)


def time_text(t_us: int) -> str:
    """ISO text in UTC with "Z"; microseconds only when non-zero."""
    return us_to_datetime(t_us).isoformat().replace("+00:00", "Z")


def date_text(day: int) -> str:
    return (EPOCH_DATE + timedelta(days=day)).isoformat()


def _add_months(t_us: int, months: int) -> int | None:
    """t + months calendar months, the day clamped to the month's end (D9).

    None when the result is past year 9999.
    """
    start = us_to_datetime(t_us)
    index = start.year * 12 + (start.month - 1) + months
    year, month0 = divmod(index, 12)
    if year > 9999:
        return None
    month = month0 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return (start.replace(year=year, month=month, day=day) - EPOCH) // ONE_US


def paid_through(t_us: int, interval: str, count: int) -> int | None:
    """t + count x interval (D9), or None: "paid through forever".

    `interval_count` has no upper bound in EVENTS.md, so t + count x interval
    can be past year 9999, where no timestamp (and so no stream time) can
    ever reach: such a payment cannot be represented as a date, and is read
    as paying the account through forever (it never lapses from this
    payment; a newer payment or a cancellation still changes it). The engine
    does the same (brief, item 4).
    """
    if interval == "day":
        end = t_us + count * US_PER_DAY
    elif interval == "week":
        end = t_us + count * 7 * US_PER_DAY
    else:
        months = {"month": 1, "quarter": 3, "year": 12}[interval]
        result = _add_months(t_us, months * count)
        if result is None:
            return None
        end = result
    # (for days and weeks the cap changes nothing observable: a lapse past 9999
    # could never become due; it keeps the meaning of None the same for all)
    return None if end > MAX_US else end
