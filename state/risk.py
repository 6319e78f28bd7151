"""An account's churn risk: the alert rules that are open on it (`churn_risk` of the read model).

A rule opens when it raises an alert on the account and closes when what it warned
about is over (docs/DECISIONS.md 38): a failed payment by the next succeeded one;
a scheduled cancellation when it takes effect or is withdrawn; a churn when the
account pays again; a downgrade when MRR rises again; a detractor answer when the
account's latest answer is no longer a detractor's; a usage drop at the next
activity. Churning closes the warnings that led up to it. Kept as bits on the account.
"""

from __future__ import annotations

from typing import Final

from models.outputs import AlertRule
from state.alerts import (
    ACCOUNT_CHURNED,
    CANCELLATION_SCHEDULED,
    DETRACTOR,
    DOWNGRADE,
    PAYMENT_FAILED,
    USAGE_DROP,
)

ACCOUNT_RULES: Final[tuple[AlertRule, ...]] = (
    PAYMENT_FAILED, CANCELLATION_SCHEDULED, ACCOUNT_CHURNED, DOWNGRADE, DETRACTOR, USAGE_DROP,
)  # fmt: skip
BIT: Final[dict[str, int]] = {rule: 1 << index for index, rule in enumerate(ACCOUNT_RULES)}
CLOSED_BY_CHURN: Final = BIT[PAYMENT_FAILED] | BIT[CANCELLATION_SCHEDULED] | BIT[DOWNGRADE]
CLOSED_BY_PAYING_AGAIN: Final = BIT[ACCOUNT_CHURNED] | BIT[DOWNGRADE]


def open_rules(bits: int) -> list[AlertRule]:
    """The open rules, in the order of METRICS.md's table."""
    return [rule for rule in ACCOUNT_RULES if bits & BIT[rule]]
