"""A closed day's figures as additive sides: what the history keeps of each day.

Every figure of a day follows from a few sums (state/figures.py computes them); the
sums of partitions add up, so the history of P partitions is the sum of their rows,
and a row costs the same whatever the number of users or events behind it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from state.figures import (
    MrrSums,
    Value,
    activity_figures_of,
    mrr_figures_of,
    nps_figures_of,
)
from state.money import ZERO
from state.tally import Tally


def _no_movements() -> MrrSums:
    return MrrSums(ZERO, 0, ZERO, ZERO, ZERO, ZERO, ZERO, 0, 0, 0, ZERO, ZERO, ZERO, 0)


@dataclass(slots=True)
class DaySides:
    """Every side of every figure of one day."""

    mrr: MrrSums = field(default_factory=_no_movements)
    signups: int = 0
    tally: Tally = field(default_factory=Tally)

    def add(self, other: DaySides) -> None:
        self.mrr.add(other.mrr)
        self.signups += other.signups
        self.tally.add(other.tally)

    def figures(self) -> dict[str, Value]:
        """Every figure of METRICS.md at this day, from the sides."""
        t = self.tally
        return {
            **mrr_figures_of(self.mrr),
            **activity_figures_of(t.dau, t.wau, t.mau),
            **nps_figures_of(t.promoters, t.passives, t.detractors),
            "signups": self.signups,
            "events": t.events,
            "duplicates": t.duplicates,
            "dead_letters": t.dead_letters,
        }

    def to_list(self) -> list[Any]:
        m = self.mrr
        return [
            str(m.mrr), m.paying, str(m.new), str(m.expansion), str(m.contraction),
            str(m.churned), str(m.reactivation), m.new_count, m.churned_count,
            m.reactivated_count, str(m.cohort_expansion), str(m.cohort_contraction),
            str(m.cohort_churned), m.cohort_churned_count, self.signups, self.tally.to_list(),
            m.subscriptions, m.seats,
        ]  # fmt: skip

    @classmethod
    def from_list(cls, raw: list[Any]) -> DaySides:
        d = Decimal
        mrr = MrrSums(
            d(raw[0]), raw[1], d(raw[2]), d(raw[3]), d(raw[4]), d(raw[5]), d(raw[6]), raw[7],
            raw[8], raw[9], d(raw[10]), d(raw[11]), d(raw[12]), raw[13],
            *raw[16:18],  # subscriptions and seats: rows written before them have neither
        )  # fmt: skip
        return cls(mrr, raw[14], Tally.from_list(raw[15]))


def daily_sides(
    partitions: Sequence[Mapping[int, DaySides]], first: int, last: int
) -> list[tuple[int, DaySides]]:
    """Each day from `first` to `last` with the sides of all partitions added up; a
    partition's day without a row has the row of its last day before that has one."""
    ordered = [sorted(rows.items()) for rows in partitions]
    positions = [0] * len(ordered)
    holding: list[DaySides | None] = [None] * len(ordered)
    out = []
    for day in range(first, last + 1):
        total = DaySides()
        for i, rows in enumerate(ordered):
            while positions[i] < len(rows) and rows[positions[i]][0] <= day:
                holding[i] = rows[positions[i]][1]
                positions[i] += 1
            held = holding[i]
            if held is not None:
                total.add(held)
        out.append((day, total))
    return out
