"""Engine state and partial states as plain JSON-able values, and back.

The worker checkpoints a partition's engine into a changelogged table and
publishes its `Partial` (absolute values and per-day buckets, never deltas) for
the cross-partition aggregator; both go through here. Histograms that can be
derived from per-key state (users, respondents, first signups) are rebuilt on
load rather than stored twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from state.activity import stored_to_packed
from state.aggregate import PartitionView
from state.alerts import DayClose
from state.config import EngineConfig
from state.day_history import DayHistory
from state.day_rows import DaySides
from state.engine import Engine
from state.figures import Partial
from state.months import CohortMonth, MonthMovements
from state.mrr import Account, CohortMovements, DayMovements, Subscription
from state.nps import NpsDay
from state.people import person_key
from state.tally import Tally
from state.timers import TimerKind

FORMAT = 3
"""3: users and respondents as one key each (state/people.py); 2 (pairs) is still read."""
Json = dict[str, Any]

ACCOUNT_FIELDS = (
    "ever_paid", "ended_at", None, "streak_start", None, None, "plan", "last_active",
    "last_score", "last_score_at", "usage_check_at", "open_alerts", "first_paid",
)  # fmt: skip
"""An account's fields after its MRR, in order, then its subscriptions. State written
before a field was added has fewer, and the missing ones keep their defaults; state
written before subscriptions (BILLING.md) held the one subscription's stale time, paid
through and scheduled end in the places now None (`set_account_fields`)."""
_LEGACY = (1, 2, 4, 5)
"""Where the one subscription's changed_at, paid_through, cancel_requested_at and
cancel_effective_at were."""


def account_fields(account: Account) -> list[Any]:
    """The account after its MRR: `ACCOUNT_FIELDS`, then its subscriptions."""
    fields = [None if name is None else getattr(account, name) for name in ACCOUNT_FIELDS]
    subs = [sub.to_list(sid) for sid, sub in account.subscriptions.items()]
    return [*fields, subs]


def set_account_fields(account_id: str, account: Account, fields: list[Any]) -> None:
    if len(fields) > len(ACCOUNT_FIELDS) + 1:
        raise ValueError(f"an account with {len(fields)} fields, more than this version knows")
    for name, value in zip(ACCOUNT_FIELDS, fields, strict=False):
        if name is not None:
            setattr(account, name, value)
    if len(fields) > len(ACCOUNT_FIELDS):
        account.subscriptions = dict(Subscription.from_list(raw) for raw in fields[-1])
        return
    legacy = [fields[i] if i < len(fields) else None for i in _LEGACY]
    changed_at, paid_through, requested, effective = legacy
    account.ended_at = None
    if account.mrr > 0 or any(v is not None for v in legacy):
        account.subscriptions = {
            account_id: Subscription(
                account.mrr, 1, changed_at, paid_through, requested, effective, account.plan
            )
        }


def months_to_json(months: Mapping[int, MonthMovements]) -> list[list[Any]]:
    return [[month, bucket.to_list()] for month, bucket in sorted(months.items())]


def cohorts_to_json(cohorts: Mapping[int, Mapping[int, CohortMonth]]) -> list[list[Any]]:
    return [
        [month, cohort, str(cell.mrr), cell.paying]
        for month, cells in sorted(cohorts.items())
        for cohort, cell in sorted(cells.items())
    ]


def cohorts_from_json(raw: list[list[Any]]) -> dict[int, dict[int, CohortMonth]]:
    cohorts: dict[int, dict[int, CohortMonth]] = {}
    for month, cohort, mrr, paying in raw:
        cohorts.setdefault(month, {})[cohort] = CohortMonth(Decimal(mrr), paying)
    return cohorts


def bucket_to_json(bucket: DayMovements) -> list[Any]:
    return [
        str(bucket.new), bucket.new_count, str(bucket.expansion), bucket.expansion_count,
        str(bucket.contraction), bucket.contraction_count, str(bucket.churned),
        bucket.churned_count, str(bucket.reactivation), bucket.reactivation_count,
        [
            [start, str(c.expansion), str(c.contraction), str(c.churned), c.churned_count]
            for start, c in bucket.by_streak_start.items()
        ],
        bucket.subscriptions, bucket.seats,
    ]  # fmt: skip


def bucket_from_json(raw: list[Any]) -> DayMovements:
    return DayMovements(
        new=Decimal(raw[0]), new_count=raw[1], expansion=Decimal(raw[2]),
        expansion_count=raw[3], contraction=Decimal(raw[4]), contraction_count=raw[5],
        churned=Decimal(raw[6]), churned_count=raw[7], reactivation=Decimal(raw[8]),
        reactivation_count=raw[9],
        by_streak_start={
            start: CohortMovements(Decimal(e), Decimal(c), Decimal(ch), n)
            for start, e, c, ch, n in raw[10]
        },
        subscriptions=raw[11] if len(raw) > 11 else 0,
        seats=raw[12] if len(raw) > 12 else 0,
    )  # fmt: skip


def days_to_json(days: dict[int, Any], encode: Any) -> list[list[Any]]:
    return [[day, encode(value)] for day, value in sorted(days.items())]


def partial_to_json(partial: Partial, stream_time: int | None) -> Json:
    return {
        "format": FORMAT,
        "stream_time": stream_time,
        "mrr": str(partial.mrr),
        "paying": partial.paying,
        "subscriptions": partial.subscriptions,
        "seats": partial.seats,
        "movement_days": days_to_json(dict(partial.movement_days), bucket_to_json),
        "activity_days": days_to_json(dict(partial.activity_days), int),
        "nps_days": days_to_json(
            dict(partial.nps_days), lambda d: [d.promoters, d.passives, d.detractors]
        ),
        "signup_days": days_to_json(dict(partial.signup_days), int),
        "tallies": days_to_json(dict(partial.tallies), Tally.to_list),
        "first_day": partial.first_day,
        "months": months_to_json(partial.months),
        "cohorts": cohorts_to_json(partial.cohorts),
        "events": partial.events,
        "duplicates": partial.duplicates,
        "dead_letters": partial.dead_letters,
    }


def partial_from_json(raw: Json) -> tuple[Partial, int | None]:
    """(partial, its stream time) from `partial_to_json`'s output."""
    partial = Partial(
        mrr=Decimal(raw["mrr"]),
        paying=raw["paying"],
        subscriptions=raw.get("subscriptions", 0),
        seats=raw.get("seats", 0),
        movement_days={day: bucket_from_json(b) for day, b in raw["movement_days"]},
        activity_days={day: count for day, count in raw["activity_days"]},
        nps_days={day: NpsDay(*counts) for day, counts in raw["nps_days"]},
        signup_days={day: count for day, count in raw["signup_days"]},
        tallies={day: Tally.from_list(t) for day, t in raw.get("tallies", ())},
        first_day=raw.get("first_day"),
        months={month: MonthMovements.from_list(b) for month, b in raw.get("months", ())},
        cohorts=cohorts_from_json(raw.get("cohorts", [])),
        events=raw["events"],
        duplicates=raw["duplicates"],
        dead_letters=raw["dead_letters"],
    )
    return partial, raw["stream_time"]


def view_to_json(engine: Engine, last_event_id: str | None) -> Json:
    """What a partition publishes for the aggregator (`<app>-partials`)."""
    value = partial_to_json(engine.partial(), engine.stream_time)
    value["last_event_id"] = last_event_id
    value["day_closes"] = [[day, *close] for day, close in engine.day_closes.items()]
    value["revised_by"] = engine.history.revised_by
    return value


def view_from_json(raw: Json) -> PartitionView:
    partial, stream_time = partial_from_json(raw)
    closes = {day: DayClose(*close) for day, *close in raw.get("day_closes", ())}
    return PartitionView(
        partial, stream_time, raw.get("last_event_id"), closes, raw.get("revised_by")
    )


def engine_to_json(engine: Engine) -> Json:
    ledger = engine.ledger
    return {
        "format": FORMAT,
        "stream_time": engine.stream_time,
        "counters": [engine.events, engine.duplicates, engine.dead_letters],
        "mrr": str(ledger.mrr),
        "paying": ledger.paying,
        "accounts": {
            account_id: [str(a.mrr), *account_fields(a)]
            for account_id, a in ledger.accounts.items()
        },
        "movement_days": days_to_json(ledger.days, bucket_to_json),
        "users": sorted([user, engine.activity.stored(user)] for user in engine.activity.active),
        "respondents": sorted([r, *(engine.nps.stored(r) or ())] for r in engine.nps.latest),
        "first_signups": engine.signups.day_of,
        "seen_billing": [[k, engine.seen.billing[k]] for k in engine.seen.billing_arrivals],
        "seen_volume": engine.seen.volume_entries(engine.id_horizons()[1]),
        "timers": [[at, seq, int(kind), a] for at, seq, kind, a in sorted(engine.timers.heap)],
        "timer_seq": engine.timers.seq,
        "day_closes": [[day, *close] for day, close in engine.day_closes.items()],
        "months": engine.months.to_json(),
        "history": history_to_json(engine.history),
    }


def history_to_json(history: DayHistory) -> Json:
    return {
        "first_day": history.first_day,
        "open": [[day, t.to_list()] for day, t in sorted(history.open.items())],
        "final": [[day, row.to_list()] for day, row in sorted(history.final.items())],
    }


def restore_history(engine: Engine, raw: Json | None) -> None:
    """The history `history_to_json` gave (in place: the books share its open days); state
    written before there was a history starts one at its stream day."""
    history = engine.history
    if raw is None:
        history.first_day = engine.day
        return
    history.first_day = raw["first_day"]
    history.open.clear()
    history.open.update({day: Tally.from_list(t) for day, t in raw["open"]})
    history.final = {day: DaySides.from_list(row) for day, row in raw.get("final", ())}


def engine_from_json(config: EngineConfig, raw: Json) -> Engine:
    """An engine equal to the one `engine_to_json` saw, ready to go on."""
    if raw.get("format") not in (2, FORMAT):
        raise ValueError(f"unknown engine state format {raw.get('format')!r}")
    if raw["format"] == 2:
        raw = raw | {
            "users": [[person_key(a, u), day] for a, u, day in raw["users"]],
            "respondents": [
                [person_key(a, u), at, score] for a, u, at, score in raw["respondents"]
            ],
        }
    engine = Engine(config)
    engine.stream_time = raw["stream_time"]
    engine.events, engine.duplicates, engine.dead_letters = raw["counters"]
    ledger = engine.ledger
    ledger.mrr = Decimal(raw["mrr"])
    ledger.paying = raw["paying"]
    for account_id, (mrr, *fields) in raw["accounts"].items():
        account = Account(mrr=Decimal(mrr))
        set_account_fields(account_id, account, fields)
        ledger.accounts[account_id] = account
    ledger.recount()
    ledger.days = {day: bucket_from_json(b) for day, b in raw["movement_days"]}
    kept_from, nps_kept_from = engine.kept_from()
    engine.activity.restore({user: stored_to_packed(v) for user, v in raw["users"]}, kept_from)
    for respondent, *answers in raw["respondents"]:
        engine.nps.restore(respondent, answers, nps_kept_from)
    engine.signups.restore(dict(raw["first_signups"]), kept_from)
    for key, day in raw["seen_billing"]:
        engine.seen.add_billing(key, day)
    for applied_at, key in raw["seen_volume"]:
        engine.seen.add_volume(key, applied_at)
    engine.timers.restore(
        [(at, seq, TimerKind(kind), a) for at, seq, kind, a in raw["timers"]], raw["timer_seq"]
    )
    engine.day_closes = {day: DayClose(*close) for day, *close in raw["day_closes"]}
    engine.months.restore(raw.get("months", []))
    restore_history(engine, raw.get("history"))
    engine.restore_day()
    return engine
