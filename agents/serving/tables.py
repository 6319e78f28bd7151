"""What `GET /months` and `GET /cohorts` compute from the tables in Redis, as plain
functions: query parsing with 400s, the month range, the month-end figures, the cohort
metric, and CSV.

The aggregating worker writes `{prefix}months` and `{prefix}cohorts` as JSON arrays of
`MonthRow` and `CohortRow` (agents/worker/aggregation.py), the rows `replay --months`
and `--cohorts` write, so the worker's tables and the replay's are one definition. The
months are stored without their month-end figures (`at_end`): a request joins them with
the series hashes at each month's end day (`state.month_tables.with_month_ends`, the
join `replay --months` makes with its own history).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeVar

import orjson
from pydantic import ValidationError

from agents.serving.api import SNAPSHOT_KINDS, ApiError
from models.redis_text import typed
from models.tables import CohortRow, MonthRow
from state.figures import Value
from state.month_tables import MONTH_CSV_COLUMNS

Row = TypeVar("Row", MonthRow, CohortRow)
_MONTH: Final = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
COHORT_METRICS: Final = ("customers", "mrr")
COHORT_COLUMNS: Final = ("cohort", "month", "months_since", "currency", "value", "pct")
MONTH_COLUMNS: Final = MONTH_CSV_COLUMNS
"""`replay --months`'s header: the row's fields, then `end_{figure}` for each figure."""


def parse_month(raw: str | None, name: str) -> str | None:
    if raw is None or raw == "":
        return None
    if not _MONTH.fullmatch(raw):
        raise ApiError(400, f"{name} must be a month YYYY-MM, not {raw!r}")
    return raw


def _rows(text: str | None, model: type[Row], what: str) -> list[Row]:
    if text is None:
        raise ApiError(503, f"no {what} yet: the aggregator has not written any")
    try:
        return [model.model_validate(row) for row in orjson.loads(text)]
    except (orjson.JSONDecodeError, TypeError, ValidationError):
        raise ApiError(503, f"the {what} in Redis are unreadable") from None


def months_in_range(text: str | None, query: Mapping[str, str]) -> list[MonthRow]:
    """`GET /months?from=&to=`: the stored months in [from, to] (without `at_end`)."""
    start, end = parse_month(query.get("from"), "from"), parse_month(query.get("to"), "to")
    if start is not None and end is not None and start > end:
        raise ApiError(400, f"from ({start}) is after to ({end})")
    return [
        r for r in _rows(text, MonthRow, "months")
        if (start is None or r.month >= start) and (end is None or r.month <= end)
    ]  # fmt: skip


def stream_day(text: str | None) -> date | None:
    """The snapshot's `day` (`{prefix}metrics`), the month-ends' today; None without one."""
    try:
        return None if not text else date.fromisoformat(text)
    except ValueError:
        return None


def series_at(
    days: Sequence[date], answers: Mapping[str, Sequence[str | None]]
) -> dict[date, dict[str, Value]]:
    """The history at `days` from the series hashes: `answers` is figure -> what HMGET of
    `{prefix}series:{figure}` answered for `days` (one text or None each, in that order),
    typed as the snapshot types the figure; a missing or empty field is null, text that is
    not the figure's type a 503."""
    out: dict[date, dict[str, Value]] = {day: {} for day in days}
    try:
        for name, texts in answers.items():
            kind = SNAPSHOT_KINDS[name]
            for day, text in zip(days, texts, strict=True):
                value = typed(text, kind)
                out[day][name] = value if isinstance(value, Decimal | int) else None
    except (ValueError, InvalidOperation):
        raise ApiError(503, "the series in Redis are unreadable") from None
    return out


def months_body(rows: Sequence[MonthRow]) -> dict[str, Any]:
    """The `GET /months` JSON: the rows, `at_end` nested."""
    return {"months": [r.model_dump() for r in rows]}


def cohorts_body(text: str | None, query: Mapping[str, str]) -> dict[str, Any]:
    """`GET /cohorts?metric=customers|mrr`: each cohort month by month, as the metric's value
    and its percentage of the cohort's first month-end."""
    metric = query.get("metric") or "customers"
    if metric not in COHORT_METRICS:
        raise ApiError(400, f"metric must be one of {', '.join(COHORT_METRICS)}, not {metric!r}")
    rows = []
    for r in _rows(text, CohortRow, "cohorts"):
        value, pct = (r.customers, r.customers_pct) if metric == "customers" else (r.mrr, r.mrr_pct)
        rows.append({
            "cohort": r.cohort, "month": r.month, "months_since": r.months_since,
            "currency": r.currency, "value": value, "pct": pct,
        })  # fmt: skip
    return {"metric": metric, "cohorts": rows}


def wants_csv(query: Mapping[str, str], accept: str | None) -> bool:
    """`?format=csv`, or an Accept header that names text/csv (and not JSON before it)."""
    wanted = query.get("format")
    if wanted is not None:
        if wanted not in ("csv", "json"):
            raise ApiError(400, f"format must be csv or json, not {wanted!r}")
        return wanted == "csv"
    return accept is not None and "text/csv" in accept and "application/json" not in accept


def table_rows(rows: Sequence[MonthRow | CohortRow]) -> bytes:
    """What the aggregating worker stores: the rows as one JSON array, months without
    `at_end` (the series hold the month-end figures; a request joins them)."""
    return orjson.dumps([
        row.model_dump(mode="json", exclude={"at_end"} if isinstance(row, MonthRow) else None)
        for row in rows
    ])  # fmt: skip
