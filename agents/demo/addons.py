"""Add-on subscriptions beside an account's plan (BILLING.md): a second price the account
pays monthly, with its own `subscription_id`, cancelled alone at a period end or ending
with the account.

Why it exists: an account with one recurring price cannot show what subscriptions
change (an add-on is an expansion, dropping it alone a contraction, a cancellation of
the account ends both in one movement). Its draws come from a generator of its own, so
the plan's events are the ones the world would have without add-ons.
"""

from __future__ import annotations

from random import Random
from typing import Final

from agents.demo.billing import ADDONS, json_amount, taxed
from agents.demo.instants import DAY, add_interval
from agents.demo.lifecycle import PlannedAccount

ADDON_SHARE: Final = 0.3
"""Of the accounts that pay, those that take an add-on in their first paying streak."""
DROP_A_MONTH: Final = 0.08
"""The chance that an add-on is cancelled alone (at its period end) in a given month."""


def plan_id(account_id: str) -> str:
    """The plan's subscription id on an account that also has an add-on."""
    return f"sub-{account_id}-plan"


def takes_addon(rng: Random) -> bool:
    return rng.random() < ADDON_SHARE


def plan_addon(
    account: PlannedAccount, account_id: str, rng: Random, start: int, stop: int, currency: str
) -> None:
    """Monthly payments of one add-on from a while after `start` (the first payment) until
    `stop` (the end of the paying streak, or of the world), unless dropped before."""
    name, prices = rng.choice(ADDONS)
    sid = f"sub-{account_id}-{name}"
    t = start + int((1 + 44 * rng.random()) * DAY)
    while t < stop:
        value = account.base("pay", t)
        charged, tax = taxed(prices[currency], currency)
        value["amount"] = json_amount(rng, charged)
        if tax:
            value["tax_amount"] = str(tax)
        value |= {"currency": currency, "interval": "month", "subscription_id": sid}
        account.add(t, "payments", value)
        following = add_interval(t, "month", 1)
        if rng.random() < DROP_A_MONTH:
            asked = t + int((0.2 + 0.6 * rng.random()) * (following - t))
            cancel = account.base("can", asked)
            cancel["effective_at"] = account.frame.stamps.format(
                following, account.offset, account.suffix
            )
            cancel |= {"subscription_id": sid, "reason": "not_using"}
            account.add(asked, "cancellations", cancel)
            return
        t = following
