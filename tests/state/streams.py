"""A compact way to write event streams in tests: day numbers instead of timestamps."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from models.decode import Decoder, Rejection
from models.settings import Settings
from state.engine import Engine

DAY0 = datetime(2026, 1, 1, tzinfo=UTC)
_ids = itertools.count()


def at(day: float, hour: float = 12) -> str:
    """Timestamp of day `day` (0 = 2026-01-01) at `hour` UTC, RFC 3339."""
    moment = DAY0 + timedelta(days=day, hours=hour)
    return moment.isoformat().replace("+00:00", "Z")


def day_index(when: date) -> int:
    return (when - DAY0.date()).days


def _event(
    topic: str, account: str, day: float, hour: float, **fields: Any
) -> tuple[str, dict[str, Any]]:
    value = {"event_id": fields.pop("event_id", f"e{next(_ids)}"), "occurred_at": at(day, hour)}
    value["account_id"] = account
    value.update({k: v for k, v in fields.items() if v is not None})
    return topic, value


def pay(
    account: str, day: float, amount: str | int, hour: float = 12, **fields: Any
) -> tuple[str, dict[str, Any]]:
    fields.setdefault("currency", "USD")
    return _event("payments", account, day, hour, amount=str(amount), **fields)


def cancel(
    account: str, day: float, effective_day: float | None = None, hour: float = 12, **fields: Any
) -> tuple[str, dict[str, Any]]:
    effective = (
        None if effective_day is None else at(effective_day, fields.pop("effective_hour", hour))
    )
    return _event("cancellations", account, day, hour, effective_at=effective, **fields)


def active(
    account: str, user: str, day: float, hour: float = 12, **fields: Any
) -> tuple[str, dict[str, Any]]:
    return _event("activity", account, day, hour, user_id=user, **fields)


def survey(
    account: str, user: str, day: float, score: int, hour: float = 12, **fields: Any
) -> tuple[str, dict[str, Any]]:
    return _event("surveys", account, day, hour, user_id=user, score=score, **fields)


def signup(account: str, day: float, hour: float = 12, **fields: Any) -> tuple[str, dict[str, Any]]:
    return _event("signups", account, day, hour, **fields)


def tick(day: float, hour: float = 12) -> tuple[str, dict[str, Any]]:
    """A failed payment of an unrelated account: moves stream time, changes no figure."""
    return pay("clock", day, "1.00", hour, status="failed")


def run(events: Iterable[tuple[str, dict[str, Any]]], settings: Settings | None = None) -> Engine:
    settings = settings or Settings()
    engine = Engine(settings)
    engine.movements = []
    engine.alerts = []
    decoder = Decoder(settings)
    for topic, value in events:
        decoded = decoder.decode(topic, orjson.dumps(value))
        assert not isinstance(decoded, Rejection), decoded
        engine.apply(decoded)
    return engine


def money(text: str) -> Decimal:
    return Decimal(text)
