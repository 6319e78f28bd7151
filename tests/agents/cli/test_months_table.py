"""The terminal months table of `growthstream demo`."""

from __future__ import annotations

from decimal import Decimal

from agents.cli.months_table import render_months
from models.tables import MonthRow


def _row(month: str, start: str, new: str, churn: str, end: str, paying: int) -> MonthRow:
    zero = Decimal(0)
    return MonthRow(
        month=month, currency="EUR", mrr_at_start=Decimal(start), new_mrr=Decimal(new),
        new_customers=1, expansion_mrr=zero, expansion_count=0, contraction_mrr=zero,
        contraction_count=0, churned_mrr=Decimal(churn), churned_customers=1,
        reactivation_mrr=zero, reactivated_customers=0,
        net_new_mrr=Decimal(new) - Decimal(churn), mrr_at_end=Decimal(end),
        customers_at_start=paying, customers_at_end=paying,
    )  # fmt: skip


def test_months_are_lines_of_whole_amounts_in_80_columns() -> None:
    rows = [_row("2026-01", "0", "1234.50", "0", "1234.50", 3),
            _row("2026-02", "1234.50", "10.49", "99.99", "1145.00", 3)]  # fmt: skip
    title, heading, jan, feb = render_months(rows).splitlines()
    assert title == "MRR movements by month (EUR, last 2 months)"
    assert heading.split() == [
        "month", "start", "new", "expansion", "contraction", "churn", "reactiv.", "end", "paying",
    ]  # fmt: skip
    assert jan.split() == ["2026-01", "+1,234", "1,234", "3"]
    assert feb.split() == ["2026-02", "1,234", "+10", "-100", "1,145", "3"]
    assert max(len(line) for line in (heading, jan, feb)) <= 80


def test_only_the_last_months_are_shown_and_none_is_nothing() -> None:
    rows = [_row(f"2025-{m:02d}", "0", "1", "0", "1", 1) for m in range(1, 13)]
    rows.append(_row("2026-01", "1", "1", "0", "2", 1))
    lines = render_months(rows, last=3).splitlines()
    assert [line.split()[0] for line in lines[2:]] == ["2025-11", "2025-12", "2026-01"]
    assert render_months([]) == ""
