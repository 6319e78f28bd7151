"""BILLING.md rule by rule: several subscriptions an account, seats, tax kept out of MRR,
one movement an account an instant (the ChartMogul customer view)."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from state.config import EngineConfig
from state.mrr import Movement
from tests.support.streams import Event, cancel, pay, run, tick

PLAN, ADDON = "plan", "addon"


def plan(day: float, amount: str, **fields: Any) -> Event:
    """A payment of account a's plan subscription."""
    return pay("a", day, amount, subscription_id=PLAN, **fields)


def addon(day: float, amount: str, **fields: Any) -> Event:
    """A payment of account a's add-on subscription."""
    return pay("a", day, amount, subscription_id=ADDON, **fields)


CASES: list[tuple[str, list[Any], dict[str, Any]]] = [
    (
        "a stream without the new fields is one subscription an account, one seat",
        [pay("a", 0, "50"), pay("b", 1, "20")],
        {"mrr": D("50") + D("20"), "active_subscriptions": 2, "seats": 2},
    ),
    (
        "an add-on adds to the plan instead of replacing it: an expansion",
        [plan(0, "100"), addon(5, "20")],
        {
            "mrr": D("120.00"),
            "new_mrr": D("100.00"),
            "expansion_mrr": D("20.00"),
            "contraction_mrr": D("0.00"),
            "active_subscriptions": 2,
            "paying_customers": 1,
        },
    ),
    (
        "tax is never revenue",
        [pay("a", 0, "120.00", tax_amount="20.00"), pay("b", 0, "15", tax_amount="0")],
        {"mrr": D("115.00"), "arr": D("1380.00")},
    ),
    (
        "quantity counts seats and leaves the amount as charged",
        [
            plan(0, "90", quantity=3),
            addon(1, "10"),
        ],
        {"mrr": D("100.00"), "seats": 4, "active_subscriptions": 2},
    ),
    (
        "a seat change is the account's expansion",
        [pay("a", 0, "90", quantity=3), pay("a", 10, "150", quantity=5)],
        {"mrr": D("150.00"), "expansion_mrr": D("60.00"), "seats": 5},
    ),
    (
        "ending one of several subscriptions is a contraction",
        [
            plan(0, "100"),
            addon(1, "20"),
            cancel("a", 3, subscription_id=ADDON),
        ],
        {
            "mrr": D("100.00"),
            "contraction_mrr": D("20.00"),
            "churned_customers": 0,
            "active_subscriptions": 1,
        },
    ),
    (
        "ending the last one is the churn of the account",
        [plan(0, "100"), cancel("a", 3, subscription_id=PLAN)],
        {"mrr": D("0.00"), "churned_mrr": D("100.00"), "churned_customers": 1},
    ),
    (
        "a cancellation without subscription_id ends them all: one churn of the total",
        [
            plan(0, "100"),
            addon(1, "20"),
            cancel("a", 3),
        ],
        {
            "mrr": D("0.00"),
            "churned_mrr": D("120.00"),
            "churned_customers": 1,
            "contraction_mrr": D("0.00"),
            "active_subscriptions": 0,
            "seats": 0,
        },
    ),
    (
        "a churned account that starts any subscription is a reactivation",
        [
            plan(0, "100"),
            cancel("a", 3),
            addon(8, "20"),
        ],
        {"mrr": D("20.00"), "reactivation_mrr": D("20.00"), "reactivated_customers": 1},
    ),
    (
        "the stale rule is per subscription: an older add-on payment still counts",
        [plan(5, "100"), addon(3, "20")],
        {"mrr": D("120.00")},
    ),
    (
        "an older payment of the same subscription is stale",
        [plan(5, "100"), plan(3, "20")],
        {"mrr": D("100.00")},
    ),
    (
        "a payment dated before a cancellation of every subscription is stale",
        [
            plan(0, "100"),
            cancel("a", 5),
            addon(4, "20"),
        ],
        {"mrr": D("0.00"), "active_subscriptions": 0},
    ),
    (
        "a scheduled end of the add-on keeps its MRR until then",
        [
            plan(0, "100"),
            addon(0, "20", hour=13),
            cancel("a", 5, 20, subscription_id=ADDON),
            tick(19),
        ],
        {"mrr": D("120.00"), "active_subscriptions": 2},
    ),
    (
        "and takes it away then, as a contraction",
        [
            plan(0, "100"),
            addon(0, "20", hour=13),
            cancel("a", 5, 20, subscription_id=ADDON),
            tick(21),
        ],
        {"mrr": D("100.00"), "contraction_mrr": D("20.00"), "active_subscriptions": 1},
    ),
    (
        "a later payment of that subscription withdraws its scheduled end, not another's",
        [
            plan(0, "100"),
            addon(0, "20", hour=13),
            cancel("a", 5, effective_day=20),
            plan(10, "100"),
            tick(21),
        ],
        {"mrr": D("100.00"), "contraction_mrr": D("20.00"), "churned_customers": 0},
    ),
]


@pytest.mark.parametrize(("events", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_subscription_rules(events: list[Any], expected: dict[str, Any]) -> None:
    snapshot = run(events).snapshot()
    assert {k: snapshot[k] for k in expected} == expected


def test_subscriptions_lapsing_at_one_instant_are_one_movement() -> None:
    """Two subscriptions paid at the same moment lapse at the same moment: one churn."""
    config = EngineConfig(lapse_grace_days=3)
    ran = run(
        [
            plan(0, "100"),
            addon(0, "20"),
            tick(40),
        ],
        config,
    )
    churns = [m for m in ran.movements if m.movement is Movement.CHURN]
    assert [(m.before, m.after) for m in churns] == [(D("120.00"), D("0.00"))]
    assert not [m for m in ran.movements if m.movement is Movement.CONTRACTION]


def test_the_read_model_lists_the_subscriptions() -> None:
    from state.projection import account_view

    ran = run(
        [
            plan(0, "90", quantity=3, plan="team"),
            addon(1, "10"),
            cancel("a", 2, 30, subscription_id=ADDON),
        ]
    )
    view = account_view(ran.engine, "a")
    assert view is not None
    rows = [(s.id, s.plan, s.mrr, s.quantity, s.scheduled_end) for s in view.subscriptions]
    assert rows == [
        ("addon", None, D("10.00"), 1, "2026-01-31T12:00:00Z"),
        ("plan", "team", D("90.00"), 3, None),
    ]
