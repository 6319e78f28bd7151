"""METRICS.md "Accounts and MRR", rule by rule: one stream, the figures it must give."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from state.clock import day_to_date
from state.config import EngineConfig
from state.mrr import Movement, Status
from tests.support.streams import active, cancel, day_index, pay, run, tick

D = Decimal

# (id, events, expected snapshot subset)
CASES: list[tuple[str, list[Any], dict[str, Any]]] = [
    (
        "new account",
        [pay("a", 0, "49.00")],
        {"mrr": D("49.00"), "paying_customers": 1, "new_mrr": D("49.00"), "new_customers": 1},
    ),
    (
        "stale payment changes nothing",
        [pay("a", 5, "100"), pay("a", 3, "50")],
        {"mrr": D("100.00"), "new_mrr": D("100.00"), "contraction_mrr": D("0.00")},
    ),
    (
        "equal occurred_at is not stale: last arrival wins",
        [pay("a", 5, "100"), pay("a", 5, "80")],
        {"mrr": D("80.00"), "contraction_mrr": D("20.00")},
    ),
    (
        "expansion then contraction",
        [pay("a", 0, "50"), pay("a", 1, "80"), pay("a", 2, "60")],
        {
            "mrr": D("60.00"),
            "expansion_mrr": D("30.00"),
            "contraction_mrr": D("20.00"),
            "net_new_mrr": D("60.00"),
        },
    ),
    (
        "same price again is no movement",
        [pay("a", 0, "50"), pay("a", 20, "50")],
        {
            "mrr": D("50.00"),
            "new_mrr": D("50.00"),
            "expansion_mrr": D("0.00"),
            "contraction_mrr": D("0.00"),
        },
    ),
    (
        "zero price on a paying account is churn",
        [pay("a", 0, "50"), pay("a", 3, "0")],
        {
            "mrr": D("0.00"),
            "churned_mrr": D("50.00"),
            "churned_customers": 1,
            "paying_customers": 0,
        },
    ),
    (
        "zero price on a prospect keeps it a prospect",
        [pay("a", 0, "0"), pay("a", 3, "20")],
        {"mrr": D("20.00"), "new_customers": 1, "reactivated_customers": 0},
    ),
    (
        "failed, refunded and one-time payments change no MRR",
        [
            pay("a", 0, "50"),
            pay("a", 1, "500", status="failed"),
            pay("a", 2, "500", status="refunded"),
            pay("a", 3, "500", kind="one_time"),
        ],
        {"mrr": D("50.00"), "expansion_mrr": D("0.00")},
    ),
    (
        "immediate cancellation churns on its effective day",
        [pay("a", 0, "50"), cancel("a", 4)],
        {"mrr": D("0.00"), "churned_mrr": D("50.00"), "churned_customers": 1},
    ),
    (
        "cancellation older than the last payment is stale",
        [pay("a", 4, "50"), cancel("a", 2)],
        {"mrr": D("50.00"), "churned_customers": 0},
    ),
    (
        "reactivation after churn",
        [pay("a", 0, "50"), cancel("a", 1), pay("a", 3, "70")],
        {
            "mrr": D("70.00"),
            "new_customers": 1,
            "churned_customers": 1,
            "reactivated_customers": 1,
            "reactivation_mrr": D("70.00"),
            "new_mrr": D("50.00"),
        },
    ),
    (
        "scheduled cancellation keeps MRR until it takes effect",
        [pay("a", 0, "50", interval="year"), cancel("a", 10, effective_day=25), tick(24)],
        {"mrr": D("4.17"), "churned_customers": 0},
    ),
    (
        "scheduled cancellation takes effect when stream time reaches it",
        [pay("a", 0, "50", interval="year"), cancel("a", 10, effective_day=25), tick(25)],
        {"mrr": D("0.00"), "churned_customers": 1, "churned_mrr": D("4.17")},
    ),
    (
        "a later payment withdraws a scheduled cancellation",
        [pay("a", 0, "50"), cancel("a", 10, effective_day=29), pay("a", 20, "50"), tick(40)],
        {"mrr": D("50.00"), "churned_customers": 0},
    ),
    (
        "a payment before the request is stale and withdraws nothing",
        [
            pay("a", 0, "50", interval="year"),
            cancel("a", 10, effective_day=29),
            pay("a", 9, "50"),
            tick(30),
        ],
        {"mrr": D("0.00"), "churned_customers": 1},
    ),
    (
        "a newer cancellation replaces the scheduled one",
        [
            pay("a", 0, "50", interval="year"),
            cancel("a", 1, effective_day=20),
            cancel("a", 2, effective_day=40),
            tick(30),
        ],
        {"mrr": D("4.17"), "churned_customers": 0},
    ),
]


@pytest.mark.parametrize(("events", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_mrr_rules(events: list[Any], expected: dict[str, Any]) -> None:
    snapshot = run(events).snapshot()
    assert {k: snapshot[k] for k in expected} == expected


def _churn_day(engine: Any) -> int:
    churns = [m for m in engine.movements if m.movement is Movement.CHURN]
    assert len(churns) == 1
    return int(churns[0].day)


def test_lapse_is_dated_paid_through_plus_grace_with_month_end_clamp() -> None:
    # Paid on 2026-01-31 for a month: paid through 2026-02-28 (clamped), lapses 14 days later.
    lapse_day = day_index(date(2026, 3, 14))
    before = run([pay("a", 30, "40"), tick(lapse_day - 1, hour=12.5)])
    assert before.snapshot()["mrr"] == D("40.00")
    after = run([pay("a", 30, "40"), tick(lapse_day - 1, hour=12.5), tick(lapse_day, hour=12)])
    assert after.snapshot()["mrr"] == D("0.00")
    assert day_to_date(_churn_day(after)).isoformat() == "2026-03-14"
    assert after.ledger.accounts["a"].status is Status.CHURNED


def test_failed_payment_does_not_extend_paid_through() -> None:
    engine = run([pay("a", 0, "40"), pay("a", 31, "40", status="failed"), tick(60)])
    assert day_to_date(_churn_day(engine)).isoformat() == "2026-02-15"


def test_grace_zero_turns_lapsing_off() -> None:
    engine = run([pay("a", 0, "40"), tick(200)], EngineConfig(lapse_grace_days=0))
    assert engine.snapshot()["mrr"] == D("40.00")


def test_out_of_order_payment_whose_lapse_is_already_due_lapses_at_once() -> None:
    # Stream time is day 50; a weekly payment of day 21 arrives (within lateness):
    # paid through day 28, lapse at day 42, already behind stream time.
    engine = run([tick(50), pay("a", 21, "10", interval="week")])
    assert engine.snapshot()["mrr"] == D("0.00")
    kinds = [m.movement for m in engine.movements]
    assert kinds == [Movement.NEW, Movement.CHURN]
    assert engine.movements[1].day == engine.movements[0].day + 21


def test_late_payment_after_a_lapse_reactivates() -> None:
    # Monthly payments on day 0; the day-31 renewal arrives after stream time passed the lapse.
    engine = run([pay("a", 0, "30"), tick(46), pay("a", 31, "30")])
    kinds = [m.movement for m in engine.movements]
    assert kinds == [Movement.NEW, Movement.CHURN, Movement.REACTIVATION]
    assert engine.snapshot()["mrr"] == D("30.00")


def test_status_moves_prospect_paying_churned() -> None:
    engine = run([active("a", "u", 0)])
    assert engine.ledger.accounts["a"].status is Status.PROSPECT
    engine = run([pay("a", 0, "5")])
    assert engine.ledger.accounts["a"].status is Status.PAYING
    engine = run([pay("a", 0, "5"), cancel("a", 1)])
    assert engine.ledger.accounts["a"].status is Status.CHURNED


NORMALISATION = [
    ("month", 1, "49.00", "USD", "49.00"),
    ("year", 1, "100", "USD", "8.33"),
    ("quarter", 1, "100", "USD", "33.33"),
    ("week", 1, "10", "USD", "43.33"),
    ("day", 1, "1", "USD", "30.42"),
    ("month", 2, "99.99", "USD", "50.00"),  # 49.995 -> half to even -> 50.00
    ("month", 2, "0.25", "USD", "0.12"),  # 0.125 -> half to even -> 0.12
    ("month", 2, "0.75", "USD", "0.38"),  # 0.375 -> half to even -> 0.38
    ("month", 1, "100", "EUR", "108.00"),
    ("year", 1, "1000", "GBP", "105.83"),  # 1000 x 1.27 / 12 = 105.8333
]


@pytest.mark.parametrize(("interval", "count", "amount", "currency", "monthly"), NORMALISATION)
def test_monthly_normalisation_and_fx(
    interval: str, count: int, amount: str, currency: str, monthly: str
) -> None:
    config = EngineConfig(
        fx_rates={"USD": Decimal(1), "EUR": Decimal("1.08"), "GBP": Decimal("1.27")}
    )
    engine = run(
        [pay("a", 0, amount, interval=interval, interval_count=count, currency=currency)], config
    )
    assert engine.ledger.accounts["a"].mrr == D(monthly)
