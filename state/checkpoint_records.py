"""One partition's engine as keyed records, and what changed since the last checkpoint.

Kafka Streams' model: state is a table of keys, a checkpoint writes the keys that
changed, and a compacted changelog keeps the newest value of each key, so both the
cost of a checkpoint and the size of the changelog follow the change and the number
of things (accounts, users, respondents), never the length of the event log.

Keys: `meta` (the partition's scalars, its per-day buckets and its open history days:
O(kept days)), `a:{account}` (an account and its pending timers), `u:{user}` (a user's
latest active day, or [it, the bits of its earlier ones]), `r:{respondent}` (latest
answer, then the earlier ones a closed day may need), `s:{account}` (first signup day),
`h:{day}` (a final day of the history: state/day_history.py), `m:{month}` (a calendar
month's movements and cohort cells: state/months.py), `b:{generation}.{n}` and
`v:{generation}.{n}` (the billing and activity/survey ids first written by that
checkpoint, `IDS_PER_RECORD` a record). A value of None deletes its key (a forgotten
user, an expired id bucket, a history day past `history_days`). Values are plain JSON-able
data; how they are stored and made atomic is the worker's
(agents/worker/checkpoints.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Final

from state.activity import stored_to_packed
from state.alerts import DayClose
from state.codec import (
    account_fields,
    bucket_from_json,
    bucket_to_json,
    days_to_json,
    history_to_json,
    restore_history,
    set_account_fields,
)
from state.config import EngineConfig
from state.day_rows import DaySides
from state.engine import Engine
from state.mrr import Account
from state.timers import Timer, TimerKind

FORMAT: Final = 1
META: Final = "meta"
IDS_PER_RECORD: Final = 16_384
"""Remembered ids per record (under 1 MB of JSON, a Kafka topic's default record limit)."""
Record = tuple[str, Any]
"""(key, JSON-able value, or None to delete the key)."""


def _account(engine: Engine, account_id: str) -> Any:
    account = engine.ledger.accounts.get(account_id)
    if account is None:
        return None
    timers = [[at, seq, int(kind)] for at, seq, kind, _ in engine.timers.of_account(account_id)]
    return [str(account.mrr), *account_fields(account), timers]


def _meta(engine: Engine, generation: int) -> dict[str, Any]:
    ledger = engine.ledger
    return {
        "format": FORMAT,
        "generation": generation,
        "stream_time": engine.stream_time,
        "counters": [engine.events, engine.duplicates, engine.dead_letters],
        "mrr": str(ledger.mrr),
        "paying": ledger.paying,
        "movement_days": days_to_json(ledger.days, bucket_to_json),
        "day_closes": [[day, *close] for day, close in engine.day_closes.items()],
        "timer_seq": engine.timers.seq,
        "history": history_to_json(engine.history) | {"final": []},
    }


def changed_records(engine: Engine, generation: int, **meta: Any) -> list[Record]:
    """The records of what changed since the last call (or the restore), as checkpoint
    `generation`; `meta` adds fields to the meta record (the shell's offsets). Empties
    the engine's change sets: call once per checkpoint, and write all of what it returns."""
    records: list[Record] = [(f"a:{a}", _account(engine, a)) for a in engine.touched]
    engine.touched = set()
    activity, nps = engine.activity, engine.nps
    records += [(f"u:{user}", activity.stored(user)) for user in activity.changed]
    activity.changed = set()
    records += [(f"r:{r}", nps.stored(r)) for r in nps.changed]
    nps.changed = set()
    history = engine.history
    final = history.final
    records += [
        (f"h:{day}", None if day not in final else final[day].to_list())
        for day in sorted(history.changed)
    ]
    history.changed = set()
    first = engine.signups.day_of
    records += [(f"s:{a}", first.get(a)) for a in engine.signups.changed]
    engine.signups.changed = set()
    months = engine.months
    records += [(f"m:{month}", months.month_record(month)) for month in months.changed]
    months.changed = set()
    billing, volume = engine.seen.take_new(generation)
    for kind, ids in (("b", billing), ("v", volume)):
        for n, start in enumerate(range(0, len(ids), IDS_PER_RECORD)):
            records.append((f"{kind}:{generation}.{n}", ids[start : start + IDS_PER_RECORD]))
    gone_billing, gone_volume = engine.seen.take_expired()
    for kind, gone in (("b", gone_billing), ("v", gone_volume)):
        for gen, written in gone:
            records += [(f"{kind}:{gen}.{n}", None) for n in range(_records_for(written))]
    records.append((META, _meta(engine, generation) | meta))
    return records


def all_records(engine: Engine, generation: int, **meta: Any) -> list[Record]:
    """Every record of the engine (a first checkpoint in this form), as `generation`."""
    engine.touched = set(engine.ledger.accounts)
    engine.activity.changed = set(engine.activity.active)
    engine.history.changed = set(engine.history.final)
    engine.nps.changed = set(engine.nps.latest)
    engine.signups.changed = set(engine.signups.day_of)
    engine.months.changed = set(engine.months.months)
    engine.seen.rewrite_all()
    return changed_records(engine, generation, **meta)


def _records_for(ids: int) -> int:
    return -(-ids // IDS_PER_RECORD)


def engine_from_records(config: EngineConfig, records: Iterable[Record]) -> Engine:
    """The engine whose `changed_records` were `records` (each key's newest value)."""
    engine = Engine(config)
    meta: dict[str, Any] | None = None
    users: dict[str, int] = {}
    answers: dict[str, list[int]] = {}
    final: dict[int, DaySides] = {}
    first_signups: dict[str, int] = {}
    buckets: dict[tuple[int, int], tuple[list[Any], list[Any]]] = {}
    timers: list[Timer] = []
    ledger = engine.ledger
    for key, value in records:
        if value is None:
            continue
        kind, _, name = key.partition(":")
        if kind == "u":
            users[name] = stored_to_packed(value)
        elif kind == "a":
            mrr, *fields, pending = value
            account = Account(mrr=Decimal(mrr))
            set_account_fields(name, account, fields)
            ledger.accounts[name] = account
            timers += [(at, seq, TimerKind(k), name) for at, seq, k in pending]
        elif kind == "r":
            answers[name] = value
        elif kind == "s":
            first_signups[name] = value
        elif kind == "m":
            engine.months.restore_month(int(name), value)
        elif kind == "h":
            final[int(name)] = DaySides.from_list(value)
        elif kind in ("b", "v"):
            number, _, n = name.partition(".")
            pair = buckets.setdefault((int(number), int(n)), ([], []))
            pair[0 if kind == "b" else 1].extend(value)
        elif key == META:
            meta = value
        else:
            raise ValueError(f"unknown checkpoint record {key!r}")
    if meta is None:
        raise ValueError("checkpoint records without their meta record")
    if meta.get("format") != FORMAT:
        raise ValueError(f"unknown checkpoint record format {meta.get('format')!r}")
    engine.stream_time = meta["stream_time"]
    engine.events, engine.duplicates, engine.dead_letters = meta["counters"]
    ledger.mrr = Decimal(meta["mrr"])
    ledger.paying = meta["paying"]
    ledger.recount()
    ledger.days = {day: bucket_from_json(b) for day, b in meta["movement_days"]}
    engine.day_closes = {day: DayClose(*close) for day, *close in meta["day_closes"]}
    engine.timers.restore(timers, meta["timer_seq"])
    kept_from, nps_kept_from = engine.kept_from()
    engine.activity.restore(users, kept_from)
    engine.signups.restore(first_signups, kept_from)
    for respondent, value in answers.items():
        engine.nps.restore(respondent, value, nps_kept_from)
    restore_history(engine, meta.get("history"))
    engine.history.final = final
    by_generation: dict[int, tuple[list[Any], list[Any]]] = {}
    for generation, part in sorted(buckets):
        billing, volume = by_generation.setdefault(generation, ([], []))
        billing += buckets[generation, part][0]
        volume += buckets[generation, part][1]
    billing_from, volume_after = engine.id_horizons()
    engine.seen.restore(
        ((g, billing, volume) for g, (billing, volume) in by_generation.items()),
        billing_from,
        volume_after,
    )
    engine.restore_day()
    return engine
