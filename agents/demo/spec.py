"""What a caller asks of the demo world, and the vocabulary of what comes back.

Why it exists: the demo, the tests and the benchmarks all name a world by its
spec and read its lines and trap labels; this module is that contract (plus the
exchange rates the world's currencies need), free of how the world is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Final

from models.decode import Reason

DEMO_FX_RATES: dict[str, Decimal] = {
    "USD": Decimal("1"),
    "EUR": Decimal("1.08"),
    "GBP": Decimal("1.27"),
}
"""Exchange rates to USD that the generated currencies need (the demo's settings)."""

DUPLICATE: Final = "duplicate"
OUT_OF_ORDER: Final = "out_of_order"
LATE: Final = "late"
BAD_KINDS: Final[tuple[str, ...]] = (
    Reason.NOT_JSON,
    Reason.NOT_OBJECT,
    Reason.MISSING_FIELD,
    Reason.WRONG_TYPE,
    Reason.NAIVE_TIMESTAMP,
    Reason.NEGATIVE_AMOUNT,
    Reason.SCORE_OUT_OF_RANGE,
    Reason.UNKNOWN_CURRENCY,
    Reason.EFFECTIVE_BEFORE_OCCURRED,
)
"""Bad-message traps, named by the dead-letter reason the decoder must give them."""
TRAP_KINDS: Final[tuple[str, ...]] = (DUPLICATE, OUT_OF_ORDER, LATE, *BAD_KINDS)

Line = dict[str, object]
Value = dict[str, object]


@dataclass(frozen=True, slots=True)
class WorldSpec:
    """What to simulate. Same spec, same lines."""

    seed: int = 7
    accounts: int = 400
    start: date = date(2026, 1, 1)
    days: int = 180
    users_per_account: int = 6  # average
    traps: bool = True
    billing: bool = True
    """Add-on subscriptions, seats and VAT (BILLING.md); without them every account has one
    subscription, one seat and no tax: the world the figures had before them."""

    def __post_init__(self) -> None:
        if self.accounts < 0:
            raise ValueError("accounts must be >= 0")
        if self.days < 1:
            raise ValueError("days must be >= 1")
        if self.users_per_account < 1:
            raise ValueError("users_per_account must be >= 1")
