"""The monthly MRR movements table as terminal text (`growthstream demo`, under the
dashboard): the chart a finance team opens first, readable in 80 columns."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal

from models.tables import MonthRow

_HEADINGS = (
    "month",
    "start",
    "new",
    "expansion",
    "contraction",
    "churn",
    "reactiv.",
    "end",
    "paying",
)


def _whole(amount: Decimal, *, sign: str = "") -> str:
    """An amount in whole currency units with thousands separators ("" for zero)."""
    units = amount.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return "" if units == 0 else f"{sign}{units:,}"


def render_months(rows: Sequence[MonthRow], *, last: int = 12) -> str:
    """The `last` months of `rows` (oldest first), one line each, amounts in whole units of
    the rows' currency, each column as wide as its widest cell; "" when there is no month."""
    shown = list(rows)[-last:]
    if not shown:
        return ""
    table = [_HEADINGS]
    for row in shown:
        table.append((
            row.month, _whole(row.mrr_at_start), _whole(row.new_mrr, sign="+"),
            _whole(row.expansion_mrr, sign="+"), _whole(row.contraction_mrr, sign="-"),
            _whole(row.churned_mrr, sign="-"), _whole(row.reactivation_mrr, sign="+"),
            _whole(row.mrr_at_end), f"{row.customers_at_end:,}",
        ))  # fmt: skip
    widths = [max(len(line[i]) for line in table) for i in range(len(_HEADINGS))]
    title = f"MRR movements by month ({shown[0].currency}, last {len(shown)} months)"
    body = [
        "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in table
    ]
    return "\n".join([title, *body])
