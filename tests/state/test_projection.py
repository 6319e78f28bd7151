"""The read model's row of an account is a function of the engine's state of that account."""

from __future__ import annotations

from decimal import Decimal

from state.config import EngineConfig
from state.projection import account_view
from tests.support.streams import active, cancel, pay, run, signup, survey


def test_unknown_account_has_no_row() -> None:
    assert account_view(run([pay("a", 0, "5")]).engine, "b") is None


def test_rows_of_a_prospect_a_paying_and_a_churned_account() -> None:
    ran = run(
        [
            signup("p", 0, plan="trial"),
            active("p", "u", 1, hour=9.5),
            pay("a", 2, "49", plan="pro"),
            survey("a", "u", 3, 4),
            pay("c", 0, "10"),
            cancel("c", 4),
        ],
        EngineConfig(),
    )
    rows = {a: account_view(ran.engine, a) for a in ("p", "a", "c")}
    p, a, c = rows["p"], rows["a"], rows["c"]
    assert p is not None and a is not None and c is not None
    assert (p.status, p.mrr, p.plan, p.paying_since) == ("prospect", Decimal(0), "trial", None)
    assert p.last_active == "2026-01-02T09:30:00Z"
    assert (a.status, a.mrr, a.plan, a.paying_since, a.last_score) == (
        "paying", Decimal("49.00"), "pro", "2026-01-03", 4,
    )  # fmt: skip
    assert (c.status, c.mrr, c.paying_since) == ("churned", Decimal("0.00"), None)
