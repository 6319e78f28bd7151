"""The monthly MRR movements table and the cohort table, from partitions' month books.

The movements table is ChartMogul's: each calendar month's start MRR, the five
movements (amount and accounts), end MRR, and customers at start and end. Start is
the end of the month before (zero before the first movement), so the bridge
`start + new + expansion + reactivation - contraction - churn = end` holds by
construction and the end equals the MRR the window figures show at that month's end.

Each month also carries every figure at its end (`at_end`): a join of the table with
the day-by-day history at each month's last day (`with_month_ends`), not a state of
its own; the CSV form flattens it into one `end_{figure}` column per figure.

The cohort table follows each cohort (the accounts whose first payment fell in one
month) month by month: how many still pay at the month's end (logo retention) and
their MRR then (revenue retention), both also as a percentage of the cohort's first
month-end.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Final

from models.tables import CohortRow, MonthRow
from state.figures import FIGURES, Value
from state.money import ZERO
from state.months import CohortMonth, MonthMovements, month_text

_CENT: Final = Decimal("0.01")
_HUNDRED: Final = Decimal(100)
_EXACT: Final = Context(prec=50)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_EVEN)


def _percent(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    if whole == 0:
        return None
    ratio = _EXACT.divide(_EXACT.multiply(Decimal(part), _HUNDRED), Decimal(whole))
    return ratio.quantize(_CENT, rounding=ROUND_HALF_EVEN)


def summed_months(parts: Sequence[Mapping[int, MonthMovements]]) -> dict[int, MonthMovements]:
    total: dict[int, MonthMovements] = {}
    for months in parts:
        for month, bucket in months.items():
            total.setdefault(month, MonthMovements()).add(bucket)
    return total


def month_rows(
    parts: Sequence[Mapping[int, MonthMovements]], through: int | None, currency: str
) -> list[MonthRow]:
    """One row per calendar month from the first with a movement to `through` (the
    month of stream time; None: the last with a movement), oldest first."""
    months = summed_months(parts)
    if not months:
        return []
    last = max(months) if through is None else max(through, max(months))
    mrr, customers = ZERO, 0
    rows = []
    for month in range(min(months), last + 1):
        m = months.get(month) or MonthMovements()
        end, end_customers = mrr + m.net, customers + m.net_customers
        rows.append(
            MonthRow(
                month=month_text(month),
                currency=currency,
                mrr_at_start=_cents(mrr),
                new_mrr=_cents(m.new),
                new_customers=m.new_count,
                expansion_mrr=_cents(m.expansion),
                expansion_count=m.expansion_count,
                contraction_mrr=_cents(m.contraction),
                contraction_count=m.contraction_count,
                churned_mrr=_cents(m.churned),
                churned_customers=m.churned_count,
                reactivation_mrr=_cents(m.reactivation),
                reactivated_customers=m.reactivation_count,
                net_new_mrr=_cents(m.net),
                mrr_at_end=_cents(end),
                customers_at_start=customers,
                customers_at_end=end_customers,
            )
        )
        mrr, customers = end, end_customers
    return rows


def month_end_day(month: str, today: date | None) -> date | None:
    """The day whose end a month's `at_end` describes: the month's last day; `today` (the
    last day of the stream) for the month of `today`; None for a month after it."""
    year, number = int(month[:4]), int(month[5:7])
    last = date(year, number, calendar.monthrange(year, number)[1])
    if today is None or last < today:
        return last
    return today if (year, number) == (today.year, today.month) else None


def month_end_days(rows: Sequence[MonthRow], today: date | None) -> list[date]:
    """The distinct days `with_month_ends` reads for `rows`, oldest first."""
    days = {month_end_day(row.month, today) for row in rows}
    return sorted(day for day in days if day is not None)


def with_month_ends(
    rows: Sequence[MonthRow], figures_at: Mapping[date, Mapping[str, Value]], today: date | None
) -> list[MonthRow]:
    """`rows` with `at_end` filled from `figures_at` (day -> every figure at its end, the
    history) at each month's end day (`month_end_day`): every figure of `FIGURES`, null
    where the history lacks the day or the figure."""
    out = []
    for row in rows:
        day = month_end_day(row.month, today)
        figures = figures_at.get(day) if day is not None else None
        at_end = {name: None if figures is None else figures.get(name) for name in FIGURES}
        out.append(row.model_copy(update={"at_end": at_end}))
    return out


MONTH_END_COLUMNS: Final = tuple(f"end_{name}" for name in FIGURES)
MONTH_CSV_COLUMNS: Final = (
    *(name for name in MonthRow.model_fields if name != "at_end"),
    *MONTH_END_COLUMNS,
)
"""The CSV header of the months table (`replay --months`, `GET /months?format=csv`): the
row's fields, then `end_{figure}` for every figure of `at_end`."""


def month_csv_rows(rows: Sequence[MonthRow]) -> list[dict[str, object]]:
    """Each row flattened for CSV (`MONTH_CSV_COLUMNS`): `at_end` as `end_{figure}`."""
    return [
        {
            **row.model_dump(exclude={"at_end"}),
            **{f"end_{name}": row.at_end.get(name) for name in FIGURES},
        }
        for row in rows
    ]


def cohort_rows(
    parts: Sequence[Mapping[int, Mapping[int, CohortMonth]]], through: int | None, currency: str
) -> list[CohortRow]:
    """Each cohort (oldest first) month by month, from its first month to `through`."""
    cells: dict[int, dict[int, CohortMonth]] = {}
    for cohorts in parts:
        for month, by_cohort in cohorts.items():
            for cohort, part in by_cohort.items():
                total = cells.setdefault(cohort, {}).setdefault(month, CohortMonth())
                total.mrr += part.mrr
                total.paying += part.paying
    if not cells:
        return []
    last = max(max(c) for c in cells.values())
    last = last if through is None else max(through, last)
    rows = []
    for cohort in sorted(cells):
        by_month = cells[cohort]
        mrr, paying = ZERO, 0
        for month in range(min(by_month), cohort):
            if (earlier := by_month.get(month)) is not None:
                mrr, paying = mrr + earlier.mrr, paying + earlier.paying
        first_mrr = first_paying = None
        for month in range(cohort, last + 1):
            if (cell := by_month.get(month)) is not None:
                mrr, paying = mrr + cell.mrr, paying + cell.paying
            if first_mrr is None or first_paying is None:
                first_mrr, first_paying = mrr, paying
            rows.append(
                CohortRow(
                    cohort=month_text(cohort),
                    month=month_text(month),
                    months_since=month - cohort,
                    currency=currency,
                    customers=paying,
                    customers_pct=_percent(paying, first_paying),
                    mrr=_cents(mrr),
                    mrr_pct=_percent(mrr, first_mrr),
                )
            )
    return rows
