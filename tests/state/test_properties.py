"""Properties of the engine on generated streams (METRICS.md, DECISIONS.md).

A stream is a few accounts and users over up to ~90 days: signups, subscription and one-time
payments (succeeded, failed, refunded; every interval; USD and EUR), cancellations now or at a
future date, activity and survey answers. Timestamps are distinct, so "in order" is well defined.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
from hypothesis import HealthCheck, example, given, note, settings
from hypothesis import strategies as st

from state.clock import US_PER_DAY, to_micros
from state.config import EngineConfig
from state.engine import Engine
from state.figures import Group
from state.mrr import Change, Movement
from state.outcome import Status
from state.pipeline import Pipeline
from tests.support.streams import Ran, decoder_for, feed, replay_file

FX = {"USD": Decimal(1), "EUR": Decimal("1.1")}
SETTINGS = EngineConfig(fx_rates=FX)
NO_LAPSES = EngineConfig(fx_rates=FX, lapse_grace_days=0)
LONG_GRACE = EngineConfig(fx_rates=FX, lapse_grace_days=200)  # never reached within ~90 days
ZERO = Decimal(0)

START = datetime(2026, 1, 1, tzinfo=UTC)
ACCOUNTS = ("a0", "a1", "a2")
USERS = ("u0", "u1", "u2")
OFFSETS = (UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30)))
JITTER_MINUTES = 3 * 24 * 60  # reordering distance: well inside the 30-day lateness

PROPS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- the stream strategy ---------------------------------------------------------------------

payments = st.fixed_dictionaries(
    {
        "topic": st.just("payments"),
        "amount": st.sampled_from(["0", "10.00", "49.00", "49.99", "100", "250.50"])
        | st.decimals(min_value=0, max_value=500, places=2).map(str),
        "currency": st.sampled_from(["USD", "EUR"]),
        "status": st.sampled_from(["succeeded"] * 4 + ["failed", "refunded"]),
        "kind": st.sampled_from(["subscription"] * 5 + ["one_time"]),
        "interval": st.sampled_from(["month", "month", "day", "week", "quarter", "year"]),
        "interval_count": st.sampled_from([1, 1, 1, 2, 3]),
    }
)
cancellations = st.fixed_dictionaries(
    {
        "topic": st.just("cancellations"),
        # minutes after occurred_at; None: effective at once
        "effective_in": st.none() | st.integers(min_value=0, max_value=40 * 24 * 60),
        "voluntary": st.booleans(),
    }
)
activities = st.fixed_dictionaries(
    {"topic": st.just("activity"), "user_id": st.sampled_from(USERS)}
)
surveys = st.fixed_dictionaries(
    {
        "topic": st.just("surveys"),
        "user_id": st.sampled_from(USERS),
        "score": st.integers(min_value=0, max_value=10),
    }
)
signups = st.fixed_dictionaries({"topic": st.just("signups"), "trial": st.booleans()})
bodies = st.one_of(payments, payments, cancellations, activities, activities, surveys, signups)


@dataclass(frozen=True)
class Ev:
    minute: int
    """Minutes since START: distinct over the whole stream."""
    account: str
    body: dict[str, Any]
    offset: int
    event_id: str

    @property
    def at(self) -> int:
        return to_micros(START + timedelta(minutes=self.minute))

    def line(self) -> bytes:
        body = dict(self.body)
        topic = body.pop("topic")
        occurred = START + timedelta(minutes=self.minute)
        value: dict[str, Any] = {
            "event_id": self.event_id,
            "occurred_at": occurred.astimezone(OFFSETS[self.offset]).isoformat(),
            "account_id": self.account,
        }
        if topic == "cancellations":
            effective_in = body.pop("effective_in")
            if effective_in is not None:
                value["effective_at"] = (occurred + timedelta(minutes=effective_in)).isoformat()
        value.update(body)
        return orjson.dumps({"topic": topic, "key": self.account, "value": value})

    def describe(self) -> str:
        body = {k: v for k, v in self.body.items() if k != "topic"}
        day, minute = divmod(self.minute, 24 * 60)
        when = f"day {day} {minute // 60:02d}:{minute % 60:02d}"
        return f"{when} {self.account} {self.body['topic']} {body}"


@st.composite
def streams(draw: st.DrawFn, max_events: int = 40) -> list[Ev]:
    """An in-order stream: events sorted by occurred_at, all timestamps distinct."""
    span_days = draw(st.sampled_from([3, 20, 45, 90, 90]))
    size = draw(st.integers(min_value=0, max_value=max_events))  # lists alone stay short
    raw = draw(
        st.lists(
            st.tuples(
                st.integers(min_value=0, max_value=span_days * 24 * 60 - 1),
                st.sampled_from(ACCOUNTS),
                bodies,
                st.integers(min_value=0, max_value=len(OFFSETS) - 1),
            ),
            min_size=size,
            max_size=size,
            unique_by=lambda item: item[0],
        )
    )
    raw.sort(key=lambda item: item[0])
    return [Ev(m, a, b, o, f"e{i}") for i, (m, a, b, o) in enumerate(raw)]


@st.composite
def shuffled(draw: st.DrawFn, stream: Sequence[Ev]) -> list[Ev]:
    """`stream` reordered: only events whose occurred_at differ by < JITTER_MINUTES swap."""
    jitters = draw(
        st.lists(
            st.integers(min_value=0, max_value=JITTER_MINUTES - 1),
            min_size=len(stream),
            max_size=len(stream),
        )
    )
    order = sorted(range(len(stream)), key=lambda i: (stream[i].minute + jitters[i], i))
    return [stream[i] for i in order]


def describe(stream: Iterable[Ev]) -> str:
    return "\n".join(ev.describe() for ev in stream)


# --- running -----------------------------------------------------------------------------------


def run(stream: Iterable[Ev], config: EngineConfig) -> tuple[Engine, list[Change]]:
    """Decode and apply every event, collecting every movement the engine makes."""
    engine = Engine(config)
    events = []
    for ev in stream:
        envelope = orjson.loads(ev.line())
        events.append((envelope["topic"], envelope["value"]))
    ran = Ran(engine, feed(engine, events))
    assert all(o.rejection is None or o.rejection.type == "late" for o in ran.outcomes)
    return engine, ran.movements


def replay(lines: Iterable[bytes], config: EngineConfig) -> Engine:
    ran = replay_file(lines, config)
    letters = [o for o in ran.outcomes if o.status is Status.REJECTED]
    assert ran.engine.dead_letters == len(letters)
    return ran.engine


def mrr_by_account(engine: Engine) -> dict[str, Decimal]:
    return {a: acc.mrr for a, acc in engine.ledger.accounts.items() if acc.mrr != 0}


# --- MRR is the sum of the accounts, and of the movements ----------------------------------------


@PROPS
@given(stream=streams(), grace=st.sampled_from([SETTINGS, NO_LAPSES]))
def test_mrr_is_the_sum_of_accounts(stream: list[Ev], grace: EngineConfig) -> None:
    note(describe(stream))
    engine, _ = run(stream, grace)
    snap = engine.snapshot()
    accounts = engine.ledger.accounts
    total = sum((acc.mrr for acc in accounts.values()), ZERO)
    assert snap["mrr"] == total == engine.ledger.mrr
    assert snap["mrr"] == snap["mrr_at_start"] + snap["net_new_mrr"]  # type: ignore[operator]
    assert snap["arr"] == total * 12
    paying = sum(1 for acc in accounts.values() if acc.mrr > 0)
    assert snap["paying_customers"] == paying == engine.ledger.paying
    assert all(acc.mrr >= 0 for acc in accounts.values())
    assert snap["events"] == len(stream)
    assert snap["duplicates"] == snap["dead_letters"] == 0
    # the replay shell (its whole-line fast path included) gives the very same figures
    assert replay([ev.line() for ev in stream], grace).snapshot() == snap


def check_changes(engine: Engine, changes: Sequence[Change], *, in_order: bool) -> None:
    """Every change is the one movement of METRICS.md's table, and they add up to the MRR."""
    last: dict[str, Decimal] = {}
    streak: dict[str, int] = {}
    total = ZERO
    previous_day = None
    for change in changes:
        before = last.get(change.account_id, ZERO)
        assert change.before == before, change
        assert change.after != change.before, change
        assert change.after >= 0, change
        if before == 0:
            expected = Movement.REACTIVATION if change.account_id in last else Movement.NEW
            assert change.movement is expected, change
            assert change.amount == change.after, change
            streak[change.account_id] = change.day
        elif change.after == 0:
            assert change.movement is Movement.CHURN, change
            assert change.amount == change.before, change
        elif change.after > change.before:
            assert change.movement is Movement.EXPANSION, change
            assert change.amount == change.after - change.before, change
        else:
            assert change.movement is Movement.CONTRACTION, change
            assert change.amount == change.before - change.after, change
        assert change.amount > 0, change
        assert change.streak_start == streak[change.account_id], change
        assert change.day <= (engine.day or 0), change
        if in_order:
            # every change is made when stream time reaches its effect: days never go back
            assert previous_day is None or change.day >= previous_day, change
            previous_day = change.day
        sign = -1 if change.movement in (Movement.CONTRACTION, Movement.CHURN) else 1
        total += sign * change.amount
        last[change.account_id] = change.after
    assert total == engine.ledger.mrr
    for account_id, account in engine.ledger.accounts.items():
        assert account.mrr == last.get(account_id, ZERO), account_id
        assert account.ever_paid == (account_id in last), account_id


def check_window(engine: Engine, changes: Sequence[Change]) -> None:
    """The window figures are the movements dated in [D-29, D]."""
    snap = engine.snapshot()
    day = engine.day
    if day is None:
        return
    window = [c for c in changes if day - 30 < c.day <= day]
    fields = {
        Movement.NEW: ("new_mrr", "new_customers"),
        Movement.EXPANSION: ("expansion_mrr", None),
        Movement.CONTRACTION: ("contraction_mrr", None),
        Movement.CHURN: ("churned_mrr", "churned_customers"),
        Movement.REACTIVATION: ("reactivation_mrr", "reactivated_customers"),
    }
    for movement, (money, count) in fields.items():
        mine = [c for c in window if c.movement is movement]
        assert snap[money] == sum((c.amount for c in mine), ZERO), money
        if count is not None:
            assert snap[count] == len(mine), count
    starting_churn = sum(
        1 for c in window if c.movement is Movement.CHURN and c.streak_start <= day - 30
    )
    start = snap["customers_at_start"]
    assert isinstance(start, int)
    if start:
        rate = Decimal(starting_churn * 100) / Decimal(start)
        expected = rate.quantize(Decimal("0.01"))
        assert snap["customer_churn_rate"] == expected, (starting_churn, start)
    else:
        assert snap["customer_churn_rate"] is None


@PROPS
@given(stream=streams(), grace=st.sampled_from([SETTINGS, NO_LAPSES]))
def test_mrr_is_the_sum_of_all_movements(stream: list[Ev], grace: EngineConfig) -> None:
    note(describe(stream))
    engine, changes = run(stream, grace)
    check_changes(engine, changes, in_order=True)
    check_window(engine, changes)


@PROPS
@given(data=st.data(), stream=streams(), grace=st.sampled_from([SETTINGS, NO_LAPSES]))
def test_movements_of_a_reordered_stream_add_up_too(
    data: st.DataObject, stream: list[Ev], grace: EngineConfig
) -> None:
    mixed = data.draw(shuffled(stream))
    note(describe(mixed))
    engine, changes = run(mixed, grace)
    assert engine.dead_letters == 0
    check_changes(engine, changes, in_order=False)
    check_window(engine, changes)


# --- duplicates change nothing but the counters -------------------------------------------------

COUNTERS = ("events", "duplicates", "dead_letters")


def without_counters(snapshot: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in snapshot.items() if k not in COUNTERS}


@PROPS
@given(data=st.data(), stream=streams(), grace=st.sampled_from([SETTINGS, NO_LAPSES]))
def test_duplicated_lines_change_nothing_but_the_counters(
    data: st.DataObject, stream: list[Ev], grace: EngineConfig
) -> None:
    stream = data.draw(st.sampled_from([stream, data.draw(shuffled(stream))]))
    note(describe(stream))
    lines = [ev.line() for ev in stream]
    base = replay(lines, grace)
    snap = base.snapshot()
    assert (snap["events"], snap["duplicates"], snap["dead_letters"]) == (len(lines), 0, 0)

    twice = replay([line for line in lines for _ in range(2)], grace)
    assert without_counters(twice.snapshot()) == without_counters(snap)
    assert twice.snapshot()["events"] == len(lines)
    assert twice.snapshot()["duplicates"] == len(lines)
    assert twice.snapshot()["dead_letters"] == 0
    assert twice.ledger.accounts == base.ledger.accounts


@PROPS
@given(stream=streams(), grace=st.sampled_from([SETTINGS, NO_LAPSES]))
def test_a_file_replayed_twice_changes_nothing_but_the_counters(
    stream: list[Ev], grace: EngineConfig
) -> None:
    note(describe(stream))
    lines = [ev.line() for ev in stream]
    base = replay(lines, grace)
    snap = base.snapshot()
    again = replay(lines + lines, grace)
    assert without_counters(again.snapshot()) == without_counters(snap)
    assert again.ledger.accounts == base.ledger.accounts
    # the second copy of each event is late when it is older than W - L; else a duplicate,
    # unless it is an activity or survey applied H = 24 hours of stream time or more before
    # the end of the first pass: its id is forgotten then, and the copy counts as an event
    # again (METRICS.md "Duplicates")
    w = base.stream_time
    late = 0 if w is None else sum(1 for ev in stream if ev.at < w - 30 * US_PER_DAY)
    forgotten, running = 0, None
    for ev in stream:
        running = ev.at if running is None else max(running, ev.at)
        volume = ev.body["topic"] in ("activity", "surveys")
        if volume and w is not None and ev.at >= w - 30 * US_PER_DAY:
            forgotten += w - running >= 24 * 3600 * 1_000_000
    counters = again.snapshot()
    assert counters["events"] == len(lines) + forgotten
    assert counters["dead_letters"] == late
    assert counters["duplicates"] == len(lines) - late - forgotten


# --- reordering within the lateness ---------------------------------------------------------------
#
# What the spec makes order-free. Activity, NPS and signups: everything. MRR: the last writer on
# event time wins (METRICS.md "Stale events"), with one exception that DECISIONS.md 7-8 make on
# purpose: a cancellation *scheduled* for a later date sets `changed_at`, so a subscription payment
# that occurred before the request but is delivered after it is stale and changes nothing.
# Delivered in order, the same payment sets the price until the scheduled date. Minimal case:
#   pay a0 10.00 at 00:00; cancel a0 at 00:01 effective 00:02  -> in order MRR 10.00 (pending)
#   delivered cancel first, then pay                            -> MRR 0.00 (the pay is stale)
# So an account's MRR may differ only while a cancellation is pending; once stream time has passed
# every scheduled date, the final MRR of every account must be the same.

FINAL = ("as_of", "day", "dau", "wau", "mau", "stickiness")
ORDER_FREE = ("signups", "nps", "nps_responses", "promoters", "passives", "detractors", "events")


def pending(engine: Engine) -> set[str]:
    """Accounts with a scheduled cancellation that has not taken effect."""
    return {
        a
        for a, acc in engine.ledger.accounts.items()
        if any(sub.cancel_effective_at is not None for sub in acc.subscriptions.values())
    }


@PROPS
@given(data=st.data(), stream=streams(), grace=st.sampled_from([NO_LAPSES, LONG_GRACE]))
def test_reordering_within_lateness_keeps_final_mrr_and_activity(
    data: st.DataObject, stream: list[Ev], grace: EngineConfig
) -> None:
    mixed = data.draw(shuffled(stream))
    note("in order:\n" + describe(stream))
    note("delivered:\n" + describe(mixed))
    in_order = replay([ev.line() for ev in stream], grace)
    reordered = replay([ev.line() for ev in mixed], grace)
    expected, got = in_order.snapshot(), reordered.snapshot()
    assert got["dead_letters"] == 0
    assert {k: got[k] for k in FINAL} == {k: expected[k] for k in FINAL}
    assert {k: got[k] for k in ORDER_FREE} == {k: expected[k] for k in ORDER_FREE}

    by_account, expected_by_account = mrr_by_account(reordered), mrr_by_account(in_order)
    open_cancellations = pending(in_order) | pending(reordered)
    for account in (set(by_account) | set(expected_by_account)) - open_cancellations:
        assert by_account.get(account) == expected_by_account.get(account), account
    if not open_cancellations:
        assert (got["mrr"], got["paying_customers"]) == (
            expected["mrr"], expected["paying_customers"],
        )  # fmt: skip

    # once stream time passes every scheduled date (effective_at <= occurred_at + 40 days;
    # no lapse: grace 0 turns them off, grace 200 days is still far), all of MRR is order-free
    if in_order.stream_time is None:
        return
    horizon = in_order.stream_time + 45 * US_PER_DAY
    in_order.advance_to(horizon)
    reordered.advance_to(horizon)
    assert not pending(in_order)
    assert not pending(reordered)
    assert mrr_by_account(reordered) == mrr_by_account(in_order)
    expected, got = in_order.snapshot(), reordered.snapshot()
    assert (got["mrr"], got["paying_customers"]) == (expected["mrr"], expected["paying_customers"])


# --- mrr_at_start is the MRR at the end of day D-30 -----------------------------------------------


@PROPS
@given(stream=streams(), grace=st.sampled_from([SETTINGS, NO_LAPSES]))
def test_mrr_at_start_is_the_mrr_at_the_end_of_day_d_minus_30(
    stream: list[Ev], grace: EngineConfig
) -> None:
    note(describe(stream))
    engine, _ = run(stream, grace)
    if engine.day is None:
        return
    snap = engine.snapshot()
    cutoff = engine.day - 30
    prefix = [ev for ev in stream if ev.at // US_PER_DAY <= cutoff]
    earlier, _ = run(prefix, grace)
    earlier.advance_to((cutoff + 1) * US_PER_DAY - 1)  # the last microsecond of day D-30
    assert snap["mrr_at_start"] == earlier.ledger.mrr
    assert snap["customers_at_start"] == earlier.ledger.paying


# --- any amount the decoder accepts goes through the engine ---------------------------------------


@PROPS
# before DECISIONS.md 27 bounded amounts, 1e26 made Engine.apply raise (monthly_amount) and
# 1e25 made snapshot() raise (rounding arr = 12 x mrr): decimal.InvalidOperation
@example(amount="1e26", interval="month")
@example(amount="1e25", interval="month")
@example(amount="1000000000000", interval="day")
@given(
    amount=st.decimals(min_value=0, allow_nan=False, allow_infinity=False).map(str)
    | st.integers(min_value=0, max_value=40).map(lambda e: f"1e{e}"),
    interval=st.sampled_from(["day", "week", "month", "quarter", "year"]),
)
def test_nothing_stops_the_stream_whatever_the_amount(amount: str, interval: str) -> None:
    """EVENTS.md "Bad input": nothing stops the stream. A valid payment is applied, or is a
    dead letter; replaying it and reading the figures never raises."""
    payment = {
        "event_id": "e0",
        "occurred_at": "2026-03-01T12:00:00Z",
        "account_id": "a0",
        "amount": amount,
        "currency": "EUR",
        "interval": interval,
    }
    line = orjson.dumps({"topic": "payments", "key": "a0", "value": payment})
    after = orjson.dumps(
        {"topic": "activity", "key": "a1", "value": {**payment, "event_id": "e1", "user_id": "u"}}
    )
    engine = replay([line, after], SETTINGS)
    snap = engine.snapshot()
    assert engine.events + engine.dead_letters == 2
    assert snap["dau"] == 1  # the stream went on
    if engine.dead_letters == 0:
        assert snap["mrr"] == engine.ledger.mrr


# --- a new day names every group -----------------------------------------------------------------


@PROPS
@given(data=st.data(), stream=streams())
def test_the_outcome_that_moves_the_day_names_every_group(
    data: st.DataObject, stream: list[Ev]
) -> None:
    """Replay reports (and walks the global alerts) only outcomes that are not quiet; an outcome
    is quiet only without `Group.ALL` (agents/embedded/replay.py `_Reporter.quiet`), so every
    outcome that moves an engine to a new day must name every group."""
    order = data.draw(shuffled(stream))
    note(describe(order))
    engine = Engine(SETTINGS)
    pipeline = Pipeline(engine, decoder_for(SETTINGS))
    for ev in order:
        envelope = orjson.loads(ev.line())
        day = engine.day
        outcome = pipeline.message(envelope["topic"], orjson.dumps(envelope["value"]))
        if engine.day != day:
            assert outcome.groups == Group.ALL, (day, engine.day, outcome)
    if engine.stream_time is not None:
        day = engine.day
        outcome = engine.advance_to(engine.stream_time + 3 * US_PER_DAY)
        assert engine.day != day and outcome.groups == Group.ALL
