"""What the HTTP read API computes, as plain functions (agents/serving/web.py only does I/O).

Redis hashes hold text (models/redis_text.py); these functions turn it back into
the types of `models.outputs` (Decimal stays Decimal and is written as an exact
JSON number by `models.jsonout.dumps`), parse query parameters, and raise
`ApiError` with the HTTP status for bad input.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from pydantic import ValidationError

from models.outputs import AccountView, ChurnAlert, Snapshot
from models.redis_text import Kind, kinds, typed
from state.history import SERIES_FIGURES

DEFAULT_SERIES_DAYS: Final = 30
MAX_SERIES_DAYS: Final = 366
DEFAULT_ALERT_LIMIT: Final = 100
MAX_ALERT_LIMIT: Final = 1000
ALERT_RULES: Final = frozenset(typing.get_args(ChurnAlert.model_fields["rule"].annotation))
ACCOUNT_KINDS: Final[dict[str, Kind]] = kinds(AccountView)
SNAPSHOT_KINDS: Final[dict[str, Kind]] = kinds(Snapshot)


class ApiError(Exception):
    """A request the API answers with `status` and `{"error": message}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> dict[str, str]:
        return {"error": self.message}


def snapshot_body(raw: Mapping[str, str]) -> dict[str, object]:
    """`GET /metrics`: the `{prefix}metrics` hash typed as `Snapshot`; 503 until complete."""
    if not raw:
        raise ApiError(503, "no figures yet: the aggregator has not written any")
    try:
        body: dict[str, object] = {
            name: typed(raw.get(name), kind) for name, kind in SNAPSHOT_KINDS.items()
        }
        Snapshot.model_validate(body)
    except (ValueError, InvalidOperation, ValidationError):
        raise ApiError(503, "the figures in Redis are incomplete") from None
    return body


def parse_int(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an integer from {low} to {high}") from None
    if not low <= value <= high:
        raise ApiError(400, f"{name} must be an integer from {low} to {high}")
    return value


def parse_days(raw: str | None) -> int:
    return parse_int(raw, "days", DEFAULT_SERIES_DAYS, 1, MAX_SERIES_DAYS)


def check_figure(name: str) -> None:
    if name not in SERIES_FIGURES:
        raise ApiError(404, f"unknown metric {name!r}")


def series_body(
    name: str, raw: Mapping[str, str], last_day: date | None, days: int
) -> dict[str, object]:
    """`GET /metrics/{name}/series`: `days` days ending at `last_day`, oldest first."""
    check_figure(name)
    if last_day is None:
        labelled = [d for d in raw if raw[d] != ""]
        last_day = date.fromisoformat(max(labelled)) if labelled else None
    kind = SNAPSHOT_KINDS[name]
    out: list[dict[str, object]] = []
    if last_day is not None:
        for back in range(days - 1, -1, -1):
            label = (last_day - timedelta(days=back)).isoformat()
            out.append({"day": label, "value": typed(raw.get(label), kind)})
    return {"metric": name, "days": out}


def parse_alert(text: str | bytes | None) -> dict[str, Any] | None:
    """A `{prefix}alerts` entry's `alert` field as a ChurnAlert dict; None when invalid."""
    if text is None:
        return None
    try:
        value = json.loads(text, parse_float=Decimal)
        ChurnAlert.model_validate(value)
    except (ValueError, ValidationError):
        return None
    return value if isinstance(value, dict) else None


def account_body(
    account_id: str, raw: Mapping[str, str], alerts: Iterable[Mapping[str, Any]]
) -> dict[str, object]:
    """`GET /accounts/{id}`: the account hash typed, with its alerts; 404 when unknown."""
    if not raw:
        raise ApiError(404, f"unknown account {account_id!r}")
    body: dict[str, object] = {"account_id": account_id}
    body |= {name: typed(raw.get(name), kind) for name, kind in ACCOUNT_KINDS.items()}
    if body["subscriptions"] is None:  # written before subscriptions were listed
        body["subscriptions"] = []
    seen: dict[str, Mapping[str, Any]] = {}
    for alert in alerts:
        if alert.get("account_id") == account_id:
            seen[str(alert.get("alert_id"))] = alert
    body["open_alerts"] = list(seen.values())
    return body


@dataclass(frozen=True, slots=True)
class AlertQuery:
    since: datetime | None = None
    rule: str | None = None
    limit: int = DEFAULT_ALERT_LIMIT


def parse_instant(text: str) -> datetime:
    """An ISO 8601 instant with an offset (`Z` allowed); naive ones are ambiguous."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(400, f"since must be an ISO 8601 date-time, got {text!r}") from None
    if value.tzinfo is None:
        raise ApiError(400, "since must have a UTC offset (e.g. 2026-03-01T00:00:00Z)")
    return value


def _stored_instant(value: object) -> datetime | None:
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def parse_alert_query(query: Mapping[str, str]) -> AlertQuery:
    since = query.get("since")
    rule = query.get("rule")
    if rule is not None and rule not in ALERT_RULES:
        raise ApiError(400, f"rule must be one of {', '.join(sorted(ALERT_RULES))}")
    limit = parse_int(query.get("limit"), "limit", DEFAULT_ALERT_LIMIT, 1, MAX_ALERT_LIMIT)
    return AlertQuery(None if since is None else parse_instant(since), rule, limit)


def select_alerts(alerts: Iterable[Mapping[str, Any]], query: AlertQuery) -> list[Any]:
    """The alerts matching `query`, in stream order (newest last), the last `limit` of them."""
    out = []
    for alert in alerts:
        if query.rule is not None and alert.get("rule") != query.rule:
            continue
        if query.since is not None:
            at = _stored_instant(alert.get("as_of"))
            if at is None or at < query.since:
                continue
        out.append(alert)
    return out[-query.limit :]


def health_body(
    *,
    lag: Mapping[tuple[str, int], int | None],
    redis_ok: bool,
    recovered: bool,
    rebalancing: bool,
    problems: Iterable[str] = (),
) -> tuple[int, dict[str, object]]:
    """`GET /health`: (200 when ready else 503, body). Ready = tables recovered, no
    rebalance in progress, Redis answering, and nothing keeping the worker from making
    progress (`problems` says what); alive whenever it answers at all."""
    problems = list(problems)
    ready = redis_ok and recovered and not rebalancing and not problems
    partitions = [
        {"topic": topic, "partition": partition, "lag": records}
        for (topic, partition), records in sorted(lag.items())
    ]
    body: dict[str, object] = {
        "live": True,
        "ready": ready,
        "redis": redis_ok,
        "tables_recovered": recovered,
        "rebalancing": rebalancing,
        "problems": problems,
        "partitions": partitions,
        "total_lag": sum(p or 0 for p in lag.values()),
    }
    return (200 if ready else 503), body
