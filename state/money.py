"""Monthly normalisation of a subscription price, in the reporting currency."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Context, Decimal

ZERO = Decimal(0)
CENT = Decimal("0.01")
_EXACT = Context(prec=60)
# interval -> (numerator, denominator) of the factor that scales one period to a month
_TO_MONTH = {
    "day": (365, 12),
    "week": (52, 12),
    "month": (1, 1),
    "quarter": (1, 3),
    "year": (1, 12),
}


def monthly_amount(
    amount: Decimal, currency: str, interval: str, interval_count: int, rates: Mapping[str, Decimal]
) -> Decimal:
    """amount x rate / interval_count x (days or weeks or months per month), half-even cents.

    One division with 60 significant digits keeps the value exact enough that
    the only rounding is the final one, as METRICS.md prescribes.
    """
    numerator, denominator = _TO_MONTH[interval]
    scaled = _EXACT.multiply(_EXACT.multiply(amount, rates[currency]), Decimal(numerator))
    monthly = _EXACT.divide(scaled, Decimal(denominator * interval_count))
    return monthly.quantize(CENT, rounding=ROUND_HALF_EVEN)
