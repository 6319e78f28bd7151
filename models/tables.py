"""The history's tables as records (`replay --months` / `--cohorts`, `growth:months`,
`growth:cohorts`, `GET /months`, `GET /cohorts`; METRICS.md "Months" and "Cohorts")."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from models.outputs import Output


class MonthRow(Output):
    """One calendar month of MRR movements (`replay --months`; METRICS.md "Months"):
    `mrr_at_start + new + expansion + reactivation - contraction - churned = mrr_at_end`,
    and every figure at the month's end (`at_end`)."""

    month: str
    """YYYY-MM (UTC)."""
    currency: str
    """The reporting currency of every amount in the row."""
    mrr_at_start: Decimal
    """MRR at the end of the month before (0 before the first movement)."""
    new_mrr: Decimal
    """MRR of the month's new accounts (first payments)."""
    new_customers: int
    """Accounts that first paid in the month."""
    expansion_mrr: Decimal
    """MRR added by the month's expansions."""
    expansion_count: int
    """Expansion movements (an account can expand more than once a month)."""
    contraction_mrr: Decimal
    """MRR lost to the month's contractions."""
    contraction_count: int
    """Contraction movements."""
    churned_mrr: Decimal
    """MRR lost to the month's churns."""
    churned_customers: int
    """Churn movements (accounts that stopped paying)."""
    reactivation_mrr: Decimal
    """MRR of the accounts that paid again in the month."""
    reactivated_customers: int
    """Reactivation movements."""
    net_new_mrr: Decimal
    """new + expansion + reactivation - contraction - churned."""
    mrr_at_end: Decimal
    """MRR at the month's end: every movement dated up to it."""
    customers_at_start: int
    """Paying accounts at the end of the month before."""
    customers_at_end: int
    """Paying accounts at the month's end."""
    at_end: dict[str, Decimal | int | None] = Field(default_factory=dict)
    """The month-end value of every figure of the snapshot (METRICS.md "History"), by name:
    each as it stood at the end of the month's last day, the month of D at D (today's
    values); null where the history holds no such day (before the kept history). Empty
    only in a table not joined with the history: the worker stores `growth:months` without
    it and `GET /months` joins the series at request time."""


class CohortRow(Output):
    """One cohort at the end of one month (`replay --cohorts`; METRICS.md "Cohorts"): the
    accounts whose first payment fell in `cohort`."""

    cohort: str
    """YYYY-MM of the accounts' first payment (UTC)."""
    month: str
    """YYYY-MM whose end the row describes."""
    months_since: int
    """0 for the cohort's own month."""
    currency: str
    """The reporting currency of `mrr`."""
    customers: int
    """Accounts of the cohort paying at the end of `month`."""
    customers_pct: Decimal | None
    """`customers` as a percentage of the cohort's at the end of its first month."""
    mrr: Decimal
    """The cohort's MRR at the end of `month`."""
    mrr_pct: Decimal | None
    """`mrr` as a percentage of the cohort's at the end of its first month."""
