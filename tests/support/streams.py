"""A compact way to write event streams in tests (day numbers instead of timestamps), and
to run them through the engine the way the shells do (`state.pipeline`)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson

from models.decode import Decoder, Rejection
from models.outputs import ChurnAlert
from models.replay_line import parse_line
from models.settings import Settings
from state.config import EngineConfig
from state.engine import Engine
from state.mrr import Change
from state.outcome import Outcome, Status
from state.pipeline import Pipeline

Event = tuple[str, dict[str, Any]]

DAY0 = datetime(2026, 1, 1, tzinfo=UTC)
_ids = itertools.count()


def at(day: float, hour: float = 12) -> str:
    """Timestamp of day `day` (0 = 2026-01-01) at `hour` UTC, RFC 3339."""
    moment = DAY0 + timedelta(days=day, hours=hour)
    return moment.isoformat().replace("+00:00", "Z")


def day_index(when: date) -> int:
    return (when - DAY0.date()).days


def _event(topic: str, account: str, day: float, hour: float, **fields: Any) -> Event:
    value = {"event_id": fields.pop("event_id", f"e{next(_ids)}"), "occurred_at": at(day, hour)}
    value["account_id"] = account
    value.update({k: v for k, v in fields.items() if v is not None})
    return topic, value


def pay(account: str, day: float, amount: str | int, hour: float = 12, **fields: Any) -> Event:
    fields.setdefault("currency", "USD")
    return _event("payments", account, day, hour, amount=str(amount), **fields)


def cancel(
    account: str, day: float, effective_day: float | None = None, hour: float = 12, **fields: Any
) -> Event:
    effective = (
        None if effective_day is None else at(effective_day, fields.pop("effective_hour", hour))
    )
    return _event("cancellations", account, day, hour, effective_at=effective, **fields)


def active(account: str, user: str, day: float, hour: float = 12, **fields: Any) -> Event:
    return _event("activity", account, day, hour, user_id=user, **fields)


def survey(
    account: str, user: str, day: float, score: int, hour: float = 12, **fields: Any
) -> Event:
    return _event("surveys", account, day, hour, user_id=user, score=score, **fields)


def signup(account: str, day: float, hour: float = 12, **fields: Any) -> Event:
    return _event("signups", account, day, hour, **fields)


def tick(day: float, hour: float = 12) -> Event:
    """A failed payment of an unrelated account: moves stream time, changes no figure."""
    return pay("clock", day, "1.00", hour, status="failed")


def decoder_for(config: EngineConfig) -> Decoder:
    """The decoder of the default topics, knowing the config's currencies."""
    return Decoder(Settings(fx_rates=dict(config.fx_rates)))


@dataclass
class Ran:
    """An engine after a stream, and everything its outcomes said on the way."""

    engine: Engine
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def alerts(self) -> list[ChurnAlert]:
        return [alert for outcome in self.outcomes for alert in outcome.alerts]

    @property
    def movements(self) -> list[Change]:
        return [change for outcome in self.outcomes for change in outcome.movements]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


def feed(engine: Engine, events: Iterable[Event], *, valid: bool = True) -> list[Outcome]:
    """Each event as a raw message through the pipeline; with `valid`, none may be rejected
    by the decoder (late, duplicate or applied are all fine)."""
    pipeline = Pipeline(engine, decoder_for(engine.config))
    outcomes = []
    for topic, value in events:
        outcome = pipeline.message(topic, orjson.dumps(value))
        if valid and outcome.status is Status.REJECTED:
            assert outcome.rejection is not None and outcome.rejection.type == "late", outcome
        outcomes.append(outcome)
    return outcomes


def replay_file(lines: Iterable[bytes], config: EngineConfig | None = None) -> Ran:
    """Replay-file lines through the pipeline's general path (as the replay shell takes any
    line its one-pass validation does not), bad lines and late events included."""
    engine = Engine(config or EngineConfig())
    pipeline = Pipeline(engine, decoder_for(engine.config))
    outcomes = []
    for line in lines:
        if not line.strip():
            continue
        parsed = parse_line(line)
        if isinstance(parsed, Rejection):
            outcomes.append(pipeline.rejected(parsed))
        else:
            outcomes.append(pipeline.message(parsed.topic, parsed.raw))
    return Ran(engine, outcomes)


def run(events: Iterable[Event], config: EngineConfig | None = None) -> Ran:
    engine = Engine(config or EngineConfig())
    return Ran(engine, feed(engine, events))


def lines_of(events: Iterable[Event]) -> list[bytes]:
    """Replay-file lines of the events (EVENTS.md "Replay file")."""
    return [
        orjson.dumps({"topic": topic, "key": value["account_id"], "value": value})
        for topic, value in events
    ]


RATES: Mapping[str, Decimal] = {"USD": Decimal(1), "EUR": Decimal("1.1")}
RANDOM_CONFIG = EngineConfig(fx_rates=RATES, window_days=10, lateness_days=5)
"""The config the random streams below are made for (short windows, some lateness)."""


def _billing_fields(extra: random.Random, amount: str, currency: str) -> dict[str, Any]:
    """A payment's subscription, seats and tax (BILLING.md), drawn apart from the stream."""
    fields: dict[str, Any] = {}
    sid = extra.choice([None, None, "plan", "addon"])
    if sid is not None:
        fields["subscription_id"] = sid
    quantity = extra.choice([1, 1, 2, 5])
    if quantity > 1:
        fields["quantity"] = quantity
    if currency == "EUR" and extra.random() < 0.7:  # 20 % VAT inside the amount
        fields["tax_amount"] = str((Decimal(amount) / 6).quantize(Decimal("0.01")))
    return fields


def random_stream(
    seed: int, length: int = 1500, *, in_order: bool = False, subscriptions: bool = True
) -> list[Event]:
    """~60 days of 30 accounts: payments in two currencies, cancellations now and later,
    activity, surveys, signups, redeliveries, and (unless `in_order`) events up to two
    days out of order; with `subscriptions`, payments of several subscriptions with seats
    and tax, and cancellations of one of them (drawn apart: the rest of the stream is the
    same either way)."""
    rng = random.Random(seed)
    extra = random.Random(seed * 7919 + 1)
    events: list[Event] = []
    for i in range(length):
        day = i / 25 + (0 if in_order else rng.uniform(-2, 0))
        account = f"a{rng.randrange(30)}"
        kind = rng.random()
        if kind < 0.5:
            events.append(active(account, f"u{rng.randrange(5)}", day))
        elif kind < 0.7:
            amount = rng.choice(["0", "19.99", "49", "99.5", "250"])
            currency = rng.choice(["USD", "EUR"])
            fields = _billing_fields(extra, amount, currency) if subscriptions else {}
            events.append(
                pay(
                    account,
                    day,
                    amount,
                    currency=currency,
                    interval=rng.choice(["month", "week", "year"]),
                    status=rng.choice(["succeeded"] * 5 + ["failed"]),
                    **fields,
                )
            )
        elif kind < 0.8:
            effective_day = day + rng.choice([0, 0, 3, 12])
            ended = extra.choice([None, None, "plan", "addon"]) if subscriptions else None
            events.append(cancel(account, day, effective_day=effective_day, subscription_id=ended))
        elif kind < 0.9:
            events.append(survey(account, f"u{rng.randrange(5)}", day, rng.randrange(11)))
        else:
            events.append(signup(account, day))
        if rng.random() < 0.03:
            back = 20 if in_order else len(events)
            events.append(events[rng.randrange(max(0, len(events) - back), len(events))])
    return events


def money(text: str) -> Decimal:
    return Decimal(text)
