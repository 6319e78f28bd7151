"""Accounts' subscriptions: they grow, shrink, renew on time and withdraw cancellations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from agents.demo import Line


def test_subscriptions_move_every_way(
    clean: list[Line],
    value_of: Callable[[Line], dict[str, object]],
    instant_of: Callable[[Line], datetime],
) -> None:
    """Upgrades, downgrades (some by half or more), renewals on the period's end, withdrawals."""
    last: dict[str, Decimal] = {}
    cancelled_until: dict[str, datetime] = {}
    seen: Counter[str] = Counter()
    for line in clean:
        value, account = value_of(line), str(value_of(line)["account_id"])
        if line["topic"] == "cancellations" and "effective_at" in value:
            cancelled_until[account] = datetime.fromisoformat(str(value["effective_at"]))
        if line["topic"] != "payments" or value.get("status", "succeeded") != "succeeded":
            continue
        if value.get("kind", "subscription") != "subscription":
            continue
        amount = Decimal(str(value["amount"]))
        before = last.get(account)
        if before is not None and amount > before:
            seen["upgrade"] += 1
        elif before is not None and amount < before:
            seen["downgrade >= 50 %" if amount * 2 <= before else "downgrade"] += 1
        until = cancelled_until.pop(account, None)
        if until is not None and instant_of(line) < until:
            seen["withdrawn"] += 1
        last[account] = amount
    for feature in ("upgrade", "downgrade", "downgrade >= 50 %", "withdrawn"):
        assert seen[feature] > 0, feature
