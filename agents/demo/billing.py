"""The price list: tiers, billing periods, currencies, and what a subscription costs.

Why it exists: an account's payments, upgrades and downgrades are all moves on
this catalogue; keeping it in one place keeps prices and periods consistent
between the plan an account signs up for and every charge that follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from random import Random
from typing import Final

_CENT: Final = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    monthly: dict[str, Decimal]  # price of one unit (seat pack) a month, per currency
    max_units: int
    users: float  # relative team size


@dataclass(frozen=True, slots=True)
class Billing:
    name: str
    interval: str
    count: int
    months: int
    factor: Decimal  # price of one billing period in monthly prices


TIERS: Final = (
    Tier("starter", {"USD": Decimal(29), "EUR": Decimal(27), "GBP": Decimal(23)}, 3, 0.5),
    Tier("team", {"USD": Decimal(79), "EUR": Decimal(75), "GBP": Decimal(63)}, 5, 1.0),
    Tier("business", {"USD": Decimal(199), "EUR": Decimal(185), "GBP": Decimal(159)}, 4, 1.6),
    Tier("enterprise", {"USD": Decimal(499), "EUR": Decimal(459), "GBP": Decimal(399)}, 3, 2.5),
)
TIER_WEIGHTS: Final = (45, 33, 16, 6)
BILLINGS: Final = (
    Billing("monthly", "month", 1, 1, Decimal(1)),
    Billing("quarterly", "quarter", 1, 3, Decimal("2.85")),
    Billing("quarterly", "month", 3, 3, Decimal("2.85")),
    Billing("annual", "year", 1, 12, Decimal(10)),
)
BILLING_WEIGHTS: Final = (70, 5, 5, 20)
CURRENCIES: Final = ("USD", "EUR", "GBP")
CURRENCY_WEIGHTS: Final = (60, 25, 15)

ONE_TIME: Final = (Decimal(150), Decimal(500), Decimal(1200))
VAT_RATES: Final = {"EUR": Decimal("0.20"), "GBP": Decimal("0.20")}
"""Charged on top of the price in these currencies, and sent as `tax_amount`: never MRR."""
ADDONS: Final = (
    ("sso", {"USD": Decimal(15), "EUR": Decimal(14), "GBP": Decimal(12)}),
    ("analytics", {"USD": Decimal(49), "EUR": Decimal(45), "GBP": Decimal(39)}),
    ("priority-support", {"USD": Decimal(99), "EUR": Decimal(92), "GBP": Decimal(79)}),
)
"""Add-on subscriptions an account may take beside its plan, a month each."""


def taxed(price: Decimal, currency: str) -> tuple[Decimal, Decimal]:
    """(what is charged, the tax inside it) for a price net of tax."""
    tax = (price * VAT_RATES.get(currency, Decimal(0))).quantize(_CENT)
    return price + tax, tax


def _price(tier: Tier, units: int, billing: Billing, currency: str) -> Decimal:
    return (tier.monthly[currency] * units * billing.factor).quantize(_CENT)


def json_amount(rng: Random, amount: Decimal) -> object:
    """Mostly a JSON string ("49.00"); sometimes a JSON number, as some producers send."""
    if rng.random() < 0.88:
        return str(amount)
    return int(amount) if amount == amount.to_integral_value() else float(amount)


@dataclass(slots=True)
class Subscription:
    """What the account pays for, changing with upgrades and downgrades."""

    tier: int
    units: int
    billing: Billing
    currency: str

    def price(self) -> Decimal:
        return _price(TIERS[self.tier], self.units, self.billing, self.currency)

    def plan(self) -> str:
        return f"{TIERS[self.tier].name}-{self.billing.name}"
