"""`GET /metrics/{name}/series?from=&to=&granularity=day|week|month`, as plain functions.

A week or a month is shown by its value at its last day inside the range (the figures
are end-of-day states, so a period's end is its value), weeks being ISO weeks (Monday
to Sunday). Without `from`, `to` or `granularity` the endpoint answers as before:
`days` days ending at the snapshot's day.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Final

from agents.serving.api import SNAPSHOT_KINDS, ApiError, check_figure, parse_days, series_body
from models.redis_text import typed

GRANULARITIES: Final = ("day", "week", "month")
MAX_RANGE_DAYS: Final = 3660
SERIES_COLUMNS: Final = ("period", "day", "value")


def parse_date(raw: str | None, name: str) -> date | None:
    if raw is None or raw == "":
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be a day YYYY-MM-DD, not {raw!r}") from None


def _period(day: date, granularity: str) -> str:
    if granularity == "month":
        return f"{day.year:04d}-{day.month:02d}"
    if granularity == "week":
        year, week, _ = day.isocalendar()
        return f"{year:04d}-W{week:02d}"
    return day.isoformat()


def series_query_body(
    name: str, raw: Mapping[str, str], last_day: date | None, query: Mapping[str, str]
) -> dict[str, object]:
    check_figure(name)
    days = parse_days(query.get("days"))
    if not any(query.get(k) for k in ("from", "to", "granularity")):
        return series_body(name, raw, last_day, days)
    granularity = query.get("granularity") or "day"
    if granularity not in GRANULARITIES:
        raise ApiError(400, f"granularity must be one of {', '.join(GRANULARITIES)}")
    end = parse_date(query.get("to"), "to") or last_day
    if end is None:
        return {"metric": name, "granularity": granularity, "periods": []}
    start = parse_date(query.get("from"), "from") or end - timedelta(days=days - 1)
    if start > end:
        raise ApiError(400, f"from ({start}) is after to ({end})")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise ApiError(400, f"a range is at most {MAX_RANGE_DAYS} days")
    kind = SNAPSHOT_KINDS[name]
    periods: list[dict[str, object]] = []
    day = start
    while day <= end:
        label = _period(day, granularity)
        following = day + timedelta(days=1)
        if following > end or _period(following, granularity) != label:
            value = typed(raw.get(day.isoformat()), kind)
            periods.append({"period": label, "day": day.isoformat(), "value": value})
        day = following
    return {"metric": name, "granularity": granularity, "periods": periods}
