"""One partition's history: a row of sides for every closed day of its stream.

A closed day inside the lateness is *open*: a late event can still change it, so its
activity and NPS counts (and the counters as the day closed) are kept as a `Tally` the
books revise in place, and its MRR and signup sides are read from the day buckets the
engine keeps anyway. Once a day is past the lateness nothing can change it: it becomes
a *final* `DaySides` row, and the buckets may go. Rows cost a few numbers a day, never
per user or per event; a quiet gap of stream time records no rows (a day without a row
has the row of the last day before it that has one, as `day_closes` do).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from state.day_rows import DaySides
from state.tally import Tally


@dataclass(slots=True)
class DayHistory:
    history_days: int = 3660
    first_day: int | None = None
    """The day of the partition's first event: its history starts there."""
    open: dict[int, Tally] = field(default_factory=dict)
    final: dict[int, DaySides] = field(default_factory=dict)
    changed: set[int] = field(default_factory=set)
    """Final days written or forgotten since the last checkpoint took them."""
    revised_by: str | None = None
    """The last applied event dated before the partition's day (it may have revised a
    closed day): what a restatement names as its cause. Not checkpointed."""

    def finalize(self, day: int, sides: DaySides) -> None:
        del self.open[day]
        self.final[day] = sides
        self.changed.add(day)

    def forget_before(self, day: int) -> None:
        """Final rows older than `day` go, except the last of them, which still holds for
        the days after it that have no row of their own."""
        old = sorted(d for d in self.final if d < day)
        for gone in old[:-1]:
            del self.final[gone]
            self.changed.add(gone)
        if self.first_day is not None and self.first_day < day:
            self.first_day = day
