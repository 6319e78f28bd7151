"""MRR movements by calendar month, and by the month each account first paid (cohorts).

The window figures keep movements by day for window + lateness only; a monthly MRR
chart and a cohort table need every month since the stream began. Both are sums of
the movements `MrrBook.set_mrr` makes, bucketed by the month of their effect day, so
they cost a few numbers per month (and per cohort and month), never per event, and
partitions' books add up. Every MRR change is exactly one movement, so a month's end
is its start plus its movements, and a cohort's MRR at a month's end is the sum of
its movements up to that month: both are exact, late events included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache

from state.clock import day_to_date
from state.money import ZERO
from state.mrr import Change, Movement, Movements

MonthMovements = Movements
"""A calendar month's movements: the same amounts and counts a day has."""


@dataclass(slots=True)
class CohortMonth:
    """What one month's movements did to one cohort: its MRR change and paying change."""

    mrr: Decimal = ZERO
    paying: int = 0


@lru_cache(maxsize=4096)
def month_of(day: int) -> int:
    """The calendar month (year x 12 + month - 1) of a day number (days since 1970-01-01)."""
    when = day_to_date(day)
    return when.year * 12 + when.month - 1


def month_text(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


@dataclass(slots=True)
class MonthBook:
    """One partition's movements by month, and by month and cohort (the month of an
    account's first payment)."""

    months: dict[int, MonthMovements] = field(default_factory=dict)
    cohorts: dict[int, dict[int, CohortMonth]] = field(default_factory=dict)
    """Month -> cohort month -> what the month's movements did to that cohort."""
    changed: set[int] = field(default_factory=set)
    """Months changed since the last checkpoint took them."""

    def record(self, change: Change, first_paid: int) -> None:
        """One movement, by an account that first paid on day `first_paid`."""
        month = month_of(change.day)
        bucket = self.months.get(month)
        if bucket is None:
            bucket = self.months[month] = MonthMovements()
        amount, movement = change.amount, change.movement
        paying = 0
        if movement is Movement.NEW:
            bucket.new += amount
            bucket.new_count += 1
            paying = 1
        elif movement is Movement.REACTIVATION:
            bucket.reactivation += amount
            bucket.reactivation_count += 1
            paying = 1
        elif movement is Movement.CHURN:
            bucket.churned += amount
            bucket.churned_count += 1
            paying = -1
        elif movement is Movement.EXPANSION:
            bucket.expansion += amount
            bucket.expansion_count += 1
        else:
            bucket.contraction += amount
            bucket.contraction_count += 1
        cells = self.cohorts.get(month)
        if cells is None:
            cells = self.cohorts[month] = {}
        cohort = month_of(first_paid)
        cell = cells.get(cohort)
        if cell is None:
            cell = cells[cohort] = CohortMonth()
        cell.mrr += change.after - change.before
        cell.paying += paying
        self.changed.add(month)

    def month_record(self, month: int) -> list[object] | None:
        """The month's movements and its cohort cells, as one JSON-able value."""
        bucket = self.months.get(month)
        if bucket is None:
            return None
        cells = self.cohorts.get(month, {})
        return [
            bucket.to_list(),
            [[cohort, str(cell.mrr), cell.paying] for cohort, cell in sorted(cells.items())],
        ]

    def restore_month(self, month: int, value: list[object]) -> None:
        """Take back what `month_record` gave for `month`."""
        raw_bucket, raw_cells = value
        self.months[month] = MonthMovements.from_list(raw_bucket)  # type: ignore[arg-type]
        self.cohorts[month] = {
            int(cohort): CohortMonth(Decimal(mrr), int(paying))
            for cohort, mrr, paying in raw_cells  # type: ignore[attr-defined]
        }

    def to_json(self) -> list[list[object]]:
        return [[month, self.month_record(month)] for month in sorted(self.months)]

    def restore(self, raw: list[list[object]]) -> None:
        for month, value in raw:
            self.restore_month(int(month), value)  # type: ignore[arg-type, call-overload]
