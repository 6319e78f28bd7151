"""Independent reference oracle for the snapshot figures (METRICS.md).

A second, deliberately different implementation of what growthstream computes,
written from EVENTS.md, METRICS.md and docs/DECISIONS.md only (it shares no
code with ``models/``, ``state/`` or ``agents/``). It is used

* by tests, to check the real engine, and
* as the "straightforward batch computation in plain Python" baseline of the
  benchmark.

How it differs from an incremental engine on purpose:

* validation is hand-written (``json.loads`` + strict ``type(...) is`` checks);
* all times are integer microseconds since the epoch (UTC), all days integer
  day numbers since 1970-01-01 (UTC), all money integer cents;
* the stream is simulated message by message, but nothing is aggregated on the
  way: every MRR movement goes to a plain list, every user keeps the set of its
  active days, every respondent its latest response, every account its earliest
  signup; every figure is computed at the end by brute force over those lists,
  with ``fractions.Fraction`` and one half-to-even rounding per figure.

The rules of METRICS.md "Time" as simulated here, for each message of a
partition, with that partition's stream time ``W`` before the message:

1. a bad message (or bad replay line, e.g. a ``timestamp`` that is present but
   not a JSON int) is a dead letter;
2. too far ahead: a line with a record ``timestamp`` (ms) whose event has
   ``occurred_at - timestamp > F`` (strict; ``F = max_future_seconds``) is a
   dead letter (reason ``future``); a line without one is never too far ahead;
3. late: ``occurred_at < W - L`` (strict) is a dead letter (D3);
4. duplicate: the pair (``event_id``, ``account_id``) of an applied event, still
   remembered, is skipped and counted in ``duplicates``. How long an applied
   pair is remembered depends on the topic of the applied event: signups,
   payments, cancellations until every instant of its UTC day is older than
   ``W - L`` (D6); activity and surveys while ``W - W_applied < H`` hours
   (``H = dedupe_hours``; ``W_applied`` = stream time right after step 5 of the
   applied event); once forgotten, a copy is applied again (``events`` + 1) and
   remembered anew. A dead letter never registers its pair;
5. ``W := max(W, occurred_at)``;
6. due timers (scheduled cancellations, lapses) fire in effect-time order, ties
   in creation order (D5);
7. the event applies; then the timers it made due fire (D4).

A dead letter (steps 1-3) changes nothing but ``dead_letters``: not ``W``, not
the ids. Stream time may jump to year 9999; nothing here iterates over days,
so a gap costs nothing.

Partitions (``OracleConfig.partitions`` = P). With P = 1 the file is one stream
in file order (EVENTS.md "Replay file"). With P > 1 the oracle computes what a
P-partition worker computes (METRICS.md "Partitions"):

* each line goes to ``toPositive(murmur2(key)) % P`` (Kafka's default
  partitioner, ``oracle_murmur2.py``); the key is the line's ``key`` string,
  else the value's ``account_id`` string, else none (partition 0);
* each partition has its own stream time, ids, timers and accounts, and
  processes its lines ordered by (effective record timestamp, topic rank,
  file position): the effective timestamp is the line's ``timestamp``, or
  else that of the previous line of the file + 1 ms (starting from 0); the
  rank is signups 0, payments 1, cancellations 2, activity 3, surveys 4, any
  other line 5;
* at the end of the file every partition follows the global stream time
  ``G = max W_p`` (its ``W_p := G``, due timers fire) - a no-op for P = 1;
* figures are computed over all partitions together at ``day(G)``, as sums
  (a user or account that two partitions both hold counts once in each).

``oracle_accounts`` gives the per-account read model of EVENTS.md "Redis"
(``mrr``, ``status``, ``plan``, ``paying_since``, ``last_active``,
``last_score``) after the end-of-file follow.

The numbered "D<n>" comments point at the lines of docs/DECISIONS.md; "R1",
"R2" at the readings of the oracle-v2 brief (plan, last score).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction

from tests.reference.oracle_config import (
    DEFAULT_CONFIG,
    US_PER_DAY,
    US_PER_HOUR,
    OracleConfig,
    date_text,
    day_of,
    paid_through,
    time_text,
)
from tests.reference.oracle_figures import Movement, Totals, figures, money
from tests.reference.oracle_input import Event, Message, read_messages
from tests.reference.oracle_murmur2 import kafka_partition

__all__ = [
    "DEFAULT_CONFIG",
    "OracleConfig",
    "kafka_partition",
    "oracle_accounts",
    "oracle_partitions",
    "oracle_snapshot",
    "oracle_subscriptions",
    "oracle_timelines",
]

# the topics whose ids are remembered for H hours of stream time, not for L
_SHORT_MEMORY = ("activity", "survey")

_MONTH_FACTOR = {
    "day": Fraction(365, 12),
    "week": Fraction(52, 12),
    "month": Fraction(1),
    "quarter": Fraction(1, 3),
    "year": Fraction(1, 12),
}


@dataclass
class _Sub:
    """One subscription (BILLING.md): its own price, stale time and timers."""

    cents: int = 0  # its monthly amount, net of tax
    quantity: int = 1
    plan: str | None = None  # R1, per subscription
    through: int | None = None  # paid through (its latest payment's period end)
    changed_at: int | None = None  # D7, per subscription
    cancel: tuple[int, int, int] | None = None  # scheduled: (effective, seq, requested at)
    lapse_seq: int | None = None  # the live lapse timer


@dataclass
class _Account:
    status: str = "prospect"  # prospect | paying | churned (D14)
    mrr: int = 0  # cents: the sum of its subscriptions' cents
    subs: dict[str, _Sub] = field(default_factory=dict)
    ended_at: int | None = None  # the latest cancellation of every subscription
    streak_start: int | None = None  # day of the last new / reactivation
    plan: str | None = None  # R1
    # (day, change of active subscriptions, change of seats), in processing order
    sub_timeline: list[tuple[int, int, int]] = field(default_factory=list)
    last_active: int | None = None  # largest occurred_at of its activity
    last_score: tuple[int, int] | None = None  # R2: (occurred_at, score)
    timeline: list[tuple[int, int]] = field(default_factory=list)  # (day, MRR cents after)


@dataclass(frozen=True)
class _Seen:
    """An applied (event_id, account_id): what its memory horizon needs."""

    kind: str
    day: int  # UTC day of its occurred_at
    applied_w: int  # stream time right after its step 5


@dataclass
class _Partition:
    """One partition's stream (the whole file when P = 1)."""

    config: OracleConfig
    W: int | None = None
    events: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    seen: dict[tuple[str, str], _Seen] = field(default_factory=dict)
    accounts: dict[str, _Account] = field(default_factory=dict)
    timers: list[tuple[int, int, str, str, str]] = field(default_factory=list)  # heap
    seq: int = 0
    # what the figures are computed from, at the end
    movements: list[Movement] = field(default_factory=list)
    active_days: dict[tuple[str, str], set[int]] = field(default_factory=dict)
    latest_response: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    first_signup: dict[str, int] = field(default_factory=dict)
    # what the daily history is computed from (oracle_series.py)
    responses: dict[tuple[str, str], list[tuple[int, int]]] = field(default_factory=dict)
    # (first day, last day, counters): the days W left at once, and the counters then
    day_counters: list[tuple[int, int, tuple[int, int, int]]] = field(default_factory=list)
    first_day: int | None = None

    # ---- per message: METRICS.md "Order of work", D3-D6

    def offer(self, message: Message) -> None:
        event = message.event
        if event is None:  # (1) bad
            self.dead_letters += 1
            return
        future = self.config.max_future_seconds * 1_000_000
        if message.record_ms is not None and event.t - message.record_ms * 1000 > future:
            self.dead_letters += 1  # (2) too far ahead of its record time
            return
        lateness = self.config.lateness_days * US_PER_DAY
        if self.W is not None and event.t < self.W - lateness:  # (3) D3: strict, W before
            self.dead_letters += 1
            return
        if self._is_duplicate(event):  # (4)
            self.duplicates += 1
            return
        self._close_days(event.t)
        self.events += 1
        self.W = event.t if self.W is None else max(self.W, event.t)  # (5)
        self.seen[(event.event_id, event.account_id)] = _Seen(event.kind, day_of(event.t), self.W)
        self._fire_due_timers()  # (6)
        self._apply(event)  # (7)
        self._fire_due_timers()  # D4: what the event itself made due

    def _close_days(self, t: int) -> None:
        """Before W moves to `t`: the counters of every day it leaves, as they stand."""
        if self.W is None:
            self.first_day = day_of(t)
            return
        if day_of(t) > day_of(self.W):
            counters = (self.events, self.duplicates, self.dead_letters)
            self.day_counters.append((day_of(self.W), day_of(t) - 1, counters))

    def _is_duplicate(self, event: Event) -> bool:
        seen = self.seen.get((event.event_id, event.account_id))
        if seen is None:
            return False
        assert self.W is not None  # something was applied
        if seen.kind in _SHORT_MEMORY:
            # remembered while the stream has moved less than H past its application
            return self.W - seen.applied_w < self.config.dedupe_hours * US_PER_HOUR
        # D6: forgotten once every instant of its day is older than W - L
        lateness = self.config.lateness_days * US_PER_DAY
        return (seen.day + 1) * US_PER_DAY > self.W - lateness

    def follow(self, stream_time: int) -> None:
        """End of the file: move to the global stream time, fire what is due."""
        assert self.W is None or stream_time >= self.W
        self._close_days(stream_time)
        self.W = stream_time
        self._fire_due_timers()

    # ---- timers (D5): a heap of (effect, seq, kind, account); stale entries skipped

    def _new_timer(self, effect: int, kind: str, account_id: str, sub: str) -> int:
        self.seq += 1
        heapq.heappush(self.timers, (effect, self.seq, kind, account_id, sub))
        return self.seq

    def _fire_due_timers(self) -> None:
        assert self.W is not None
        while self.timers and self.timers[0][0] <= self.W:
            first = heapq.heappop(self.timers)
            effect, account_id = first[0], first[3]
            # BILLING.md: every timer of the account at the same instant, one movement
            same = [first]
            while self.timers and self.timers[0][0] == effect:
                same.append(heapq.heappop(self.timers))
            others = [t for t in same if t[3] != account_id]
            for timer in others:
                heapq.heappush(self.timers, timer)
            account = self.accounts[account_id]
            ended = False
            for _, seq, kind, _, sid in (t for t in same if t[3] == account_id):
                sub = account.subs[sid]
                if kind == "cancel":
                    if sub.cancel is None or sub.cancel[1] != seq:
                        continue  # replaced, withdrawn or cleared
                    sub.cancel = None
                else:
                    if sub.lapse_seq != seq:
                        continue  # a newer payment set a new one
                    sub.lapse_seq = None
                sub.cents, ended = 0, True
            if ended:  # D7: a timer does not move changed_at
                self._settle(account, day_of(effect))

    def _settle(self, account: _Account, day: int) -> None:
        """The account's MRR after its subscriptions changed; their counts' change."""
        active = sum(1 for sub in account.subs.values() if sub.cents > 0)
        seats = sum(sub.quantity for sub in account.subs.values() if sub.cents > 0)
        held_active = sum(a for _, a, _ in account.sub_timeline)
        held_seats = sum(q for _, _, q in account.sub_timeline)
        if (active, seats) != (held_active, held_seats):
            account.sub_timeline.append((day, active - held_active, seats - held_seats))
        self._set_mrr(account, sum(sub.cents for sub in account.subs.values()), day)

    # ---- MRR movements (METRICS.md "Movements")

    def _set_mrr(self, account: _Account, after: int, day: int) -> None:
        before = account.mrr
        if account.status == "paying":
            if after == before:
                return
            streak = account.streak_start
            assert streak is not None  # set when it started paying
            account.timeline.append((day, after))
            if after > before:
                self.movements.append((day, "expansion", after - before, streak))
            elif after > 0:
                self.movements.append((day, "contraction", before - after, streak))
            else:
                self.movements.append((day, "churn", before, streak))
                account.status = "churned"
        else:
            if after == 0:
                return  # D9: a 0 price on a prospect keeps it a prospect (same when churned)
            kind = "new" if account.status == "prospect" else "reactivation"
            account.streak_start = day
            account.status = "paying"
            account.timeline.append((day, after))
            self.movements.append((day, kind, after, day))
        account.mrr = after

    # ---- applying one event

    def _account(self, account_id: str) -> _Account:
        if account_id not in self.accounts:
            self.accounts[account_id] = _Account()
        return self.accounts[account_id]

    def _apply(self, event: Event) -> None:
        account = self._account(event.account_id)  # every applied event touches it
        if event.kind == "payment":
            self._apply_payment(account, event)
        elif event.kind == "cancellation":
            self._apply_cancellation(account, event)
        elif event.kind == "activity":
            user = (event.account_id, event.user_id)
            self.active_days.setdefault(user, set()).add(day_of(event.t))
            if account.last_active is None or event.t > account.last_active:
                account.last_active = event.t
        elif event.kind == "survey":
            respondent = (event.account_id, event.user_id)
            self.responses.setdefault(respondent, []).append((event.t, event.score))
            latest = self.latest_response.get(respondent)
            if latest is None or event.t >= latest[0]:  # D17: it becomes the latest
                self.latest_response[respondent] = (event.t, event.score)
                # R2: the latest-occurred of such answers; equal times: the later one
                if account.last_score is None or event.t >= account.last_score[0]:
                    account.last_score = (event.t, event.score)
        elif event.kind == "signup":
            earlier = self.first_signup.get(event.account_id)
            if earlier is None or event.t < earlier:  # D18
                self.first_signup[event.account_id] = event.t
            if account.plan is None:  # R1: a signup's plan only fills an empty one
                account.plan = event.plan

    def _is_stale(self, account: _Account, sub: _Sub | None, t: int) -> bool:
        # D7, D8, per subscription; and nothing dated before a cancellation of them all
        if account.ended_at is not None and t < account.ended_at:
            return True
        return sub is not None and sub.changed_at is not None and t < sub.changed_at

    def _apply_payment(self, account: _Account, event: Event) -> None:
        if event.status != "succeeded" or event.payment_kind != "subscription":
            return  # D10
        t = event.t
        sid = event.account_id if event.subscription is None else event.subscription
        if self._is_stale(account, account.subs.get(sid), t):
            return
        sub = account.subs.setdefault(sid, _Sub())
        sub.changed_at = t
        if event.plan is not None:  # R1: a payment's plan replaces the account's
            account.plan = event.plan
        exact = (
            (Fraction(event.amount) - Fraction(event.tax))
            * event.rate
            / event.interval_count
            * _MONTH_FACTOR[event.interval]
        )
        sub.cents = round(exact * 100)  # Fraction rounds half to even
        sub.quantity = event.quantity
        if event.plan is not None:
            sub.plan = event.plan
        # lapse timer for this payment (D9, D12); the previous one is dead. No
        # timer when paid through forever (past year 9999, oracle_config.paid_through)
        sub.lapse_seq = None
        grace = self.config.lapse_grace_days
        through = sub.through = paid_through(t, event.interval, event.interval_count)
        if grace > 0 and through is not None:
            sub.lapse_seq = self._new_timer(
                through + grace * US_PER_DAY, "lapse", event.account_id, sid
            )
        # withdrawal of a scheduled cancellation requested strictly before (D9)
        if sub.cancel is not None and t > sub.cancel[2]:
            sub.cancel = None
        self._settle(account, day_of(t))

    def _apply_cancellation(self, account: _Account, event: Event) -> None:
        t = event.t
        if event.subscription is None:  # every subscription, each by its own stale rule
            if account.ended_at is not None and t < account.ended_at:
                return
            account.ended_at = t
            targets = [(k, s) for k, s in account.subs.items() if not self._is_stale(account, s, t)]
        else:
            sub = account.subs.get(event.subscription)
            if self._is_stale(account, sub, t):
                return
            targets = [(event.subscription, account.subs.setdefault(event.subscription, _Sub()))]
        assert self.W is not None
        for sid, sub in targets:
            sub.changed_at = t
            if event.effective <= self.W:  # D11: applies now, clears any scheduled one
                sub.cancel = None
                sub.cents = 0
            else:  # D11: replaces any scheduled one
                seq = self._new_timer(event.effective, "cancel", event.account_id, sid)
                sub.cancel = (event.effective, seq, t)
        if event.effective <= self.W:
            self._settle(account, day_of(event.effective))


# --------------------------------------------------------------------------
# the file -> partitions -> end of file


def _partition_of(message: Message, partitions: int) -> int:
    if partitions == 1 or message.key is None:
        return 0  # no key: partition 0 (brief, item 3)
    return kafka_partition(message.key, partitions)


def _merge_key(message: Message) -> tuple[int, int, int]:
    # the worker's merge of its five topics: record timestamp, topic, offset
    return (message.stamp, message.rank, message.position)


def _run(lines: Iterable[bytes | str], config: OracleConfig) -> list[_Partition]:
    """Replay the file; every partition after the end-of-file follow."""
    if type(config.partitions) is not int or config.partitions < 1:
        raise ValueError("partitions must be an int >= 1")
    messages = read_messages(lines, config)
    routed: list[list[Message]] = [[] for _ in range(config.partitions)]
    for message in messages:
        routed[_partition_of(message, config.partitions)].append(message)
    parts = []
    for inbox in routed:
        if config.partitions > 1:
            inbox.sort(key=_merge_key)  # stable; P = 1 keeps file order
        part = _Partition(config)
        for message in inbox:
            part.offer(message)
        parts.append(part)
    times = [part.W for part in parts if part.W is not None]
    if times:
        global_time = max(times)
        for part in parts:
            part.follow(global_time)
    return parts


def _totals(parts: list[_Partition]) -> Totals:
    totals = Totals()
    for part in parts:
        if part.W is not None:
            totals.stream_time = part.W  # all equal after the follow
        totals.paying_mrr += [a.mrr for a in part.accounts.values() if a.status == "paying"]
        for account in part.accounts.values():
            live = [sub for sub in account.subs.values() if sub.cents > 0]
            totals.subscriptions += len(live)
            totals.seats += sum(sub.quantity for sub in live)
        totals.movements += part.movements
        totals.user_last_days += [max(days) for days in part.active_days.values()]
        totals.latest_responses += list(part.latest_response.values())
        totals.first_signups += list(part.first_signup.values())
        totals.events += part.events
        totals.duplicates += part.duplicates
        totals.dead_letters += part.dead_letters
    return totals


def oracle_snapshot(
    lines: Iterable[bytes | str], config: OracleConfig = DEFAULT_CONFIG
) -> dict[str, object]:
    """Replay `lines` (EVENTS.md "Replay file") and return the figures at day D.

    Blank lines are skipped; any other line that is not a valid, in-time,
    first-of-its-id event counts in `dead_letters` or `duplicates`.
    """
    return figures(_totals(_run(lines, config)), config)


def oracle_partitions(
    lines: Iterable[bytes | str], config: OracleConfig = DEFAULT_CONFIG
) -> list[_Partition]:
    """Replay `lines`: every partition's simulation, after the end-of-file follow."""
    return _run(lines, config)


def oracle_timelines(
    lines: Iterable[bytes | str], config: OracleConfig = DEFAULT_CONFIG
) -> tuple[int | None, list[Movement], dict[str, list[tuple[int, int]]]]:
    """Replay `lines`; (the global stream time, every movement, and each account's MRR
    timeline: (effect day, MRR in cents after) for each change, in processing order). An
    account held by several partitions has one timeline per partition, concatenated."""
    parts = _run(lines, config)
    stream_time = max((p.W for p in parts if p.W is not None), default=None)
    timelines: dict[str, list[tuple[int, int]]] = {}
    for part in parts:
        for account_id, account in part.accounts.items():
            timelines.setdefault(account_id, []).extend(account.timeline)
    return stream_time, [m for p in parts for m in p.movements], timelines


def _account_view(account: _Account, currency: str) -> dict[str, object]:
    paying = account.status == "paying"
    return {
        "mrr": money(account.mrr if paying else 0),
        "currency": currency,
        "status": account.status,
        "plan": account.plan,
        "paying_since": (
            date_text(account.streak_start) if paying and account.streak_start is not None else None
        ),
        "last_active": None if account.last_active is None else time_text(account.last_active),
        "last_score": None if account.last_score is None else account.last_score[1],
    }


def _subscription_rows(account: _Account) -> list[dict[str, object]]:
    """BILLING.md's account read model: each subscription, by id."""
    return [
        {
            "id": sid,
            "plan": sub.plan,
            "mrr": money(sub.cents),
            "quantity": sub.quantity,
            "paid_through": None if sub.through is None else time_text(sub.through),
            "scheduled_end": None if sub.cancel is None else time_text(sub.cancel[0]),
        }
        for sid, sub in sorted(account.subs.items())
    ]


def oracle_subscriptions(
    lines: Iterable[bytes | str], config: OracleConfig = DEFAULT_CONFIG
) -> dict[str, list[dict[str, object]]]:
    """Replay `lines`: every account's subscriptions (its `subscriptions` read-model field),
    by account_id, from the partition that holds it (as `oracle_accounts` chooses)."""
    parts = _run(lines, config)
    return {
        account_id: _subscription_rows(_holder(parts, account_id, config))
        for account_id in sorted({a for part in parts for a in part.accounts})
    }


def oracle_accounts(
    lines: Iterable[bytes | str], config: OracleConfig = DEFAULT_CONFIG
) -> dict[str, dict[str, object]]:
    """Replay `lines` and return every touched account's read model, by account_id.

    An account is normally held by one partition (lines are routed by the
    account's key). When lines with keys that differ from their account_id
    put one account in several partitions, the entry is the state held by
    the partition that the account_id itself routes to, or, if that one does
    not hold it, by the lowest-numbered partition that does (an oracle
    reading: METRICS.md and EVENTS.md do not say).
    """
    parts = _run(lines, config)
    return {
        account_id: _account_view(_holder(parts, account_id, config), config.reporting_currency)
        for account_id in sorted({a for part in parts for a in part.accounts})
    }


def _holder(parts: list[_Partition], account_id: str, config: OracleConfig) -> _Account:
    """The account as the partition its id routes to holds it, else as the lowest-numbered
    partition that holds it does (see `oracle_accounts`)."""
    holders = [i for i, part in enumerate(parts) if account_id in part.accounts]
    try:
        home = _partition_of_id(account_id, config.partitions)
    except UnicodeEncodeError:
        home = 0
    index = home if home in holders else holders[0]
    return parts[index].accounts[account_id]


def _partition_of_id(account_id: str, partitions: int) -> int:
    return 0 if partitions == 1 else kafka_partition(account_id.encode("utf-8"), partitions)
