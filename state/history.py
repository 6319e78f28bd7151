"""The figures of past days, exactly, from partial states (the worker's series).

Late events (up to the allowed lateness behind stream time) can still change
earlier days, so the daily series are recomputed for those days from what each
partial holds for them:

- MRR figures: the current MRR and paying count plus every movement by day (kept
  for window + lateness + 1 days), so the state at the end of day D is the current
  one minus the movements dated after D (`rewound`);
- signups: an account's first signup day never moves later, so its count is exact;
- activity, NPS and the counters: the tally each closed day inside the lateness keeps
  and late events revise (state/day_history.py); a day the partition has not closed
  yet is read from its buckets as the current day is.

`partial_sides` is also how the engine finalizes its own days, so the worker's series
and `replay --series` are one computation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from models.redis_text import field_text
from state.clock import date_to_day, day_to_date
from state.day_rows import DaySides
from state.figures import (
    FIGURES,
    Partial,
    Value,
    Windows,
    activity_counts,
    mrr_sums,
    nps_counts,
    signup_count,
)
from state.tally import Tally

SERIES_FIGURES: tuple[str, ...] = FIGURES
"""Every figure has a series (counters too: their value at the end of each day)."""
RECOMPUTED: tuple[str, ...] = FIGURES
"""Figures whose past days are recomputed exactly from the partials: all of them."""


def rewound(part: Partial, day: int) -> Partial:
    """`part` as it stood at the end of `day`: movements dated after it taken back."""
    mrr, paying = part.mrr, part.paying
    subscriptions, seats = part.subscriptions, part.seats
    for d, bucket in part.movement_days.items():
        if d > day:
            subscriptions -= bucket.subscriptions
            seats -= bucket.seats
            mrr -= (
                bucket.new
                + bucket.expansion
                + bucket.reactivation
                - bucket.contraction
                - bucket.churned
            )
            paying -= bucket.new_count + bucket.reactivation_count - bucket.churned_count
    return replace(part, mrr=mrr, paying=paying, subscriptions=subscriptions, seats=seats)


def partial_sides(part: Partial, day: int, windows: Windows, tally: Tally | None) -> DaySides:
    """A past day's sides in one partial: MRR and signups from its buckets, the rest from
    `tally` (the day's, when it closed it), else read from its buckets at `day`."""
    window = windows.window_days
    if tally is None:
        tally = Tally(
            *activity_counts([part], day, window),
            *nps_counts([part], day, windows.nps_window_days),
            part.events, part.duplicates, part.dead_letters,
        )  # fmt: skip
    return DaySides(
        mrr_sums([rewound(part, day)], day, window),
        signup_count([part], day, window),
        Tally(*tally.to_list()),
    )


def _tally_of(part: Partial, day: int) -> Tally | None:
    """The partial's tally of `day`; None when it has not closed `day` (nor a later day);
    all zero before its first day."""
    if part.first_day is None or day < part.first_day:
        return Tally()
    tally = part.tallies.get(day)
    if tally is not None or not part.tallies or day > max(part.tallies):
        return tally
    before = [d for d in part.tallies if d < day]
    return part.tallies[max(before)] if before else None


def past_figures(parts: Sequence[Partial], day: int, windows: Windows) -> dict[str, Value]:
    """Every figure at the end of a past `day` inside the lateness."""
    total = DaySides()
    for part in parts:
        total.add(partial_sides(part, day, windows, _tally_of(part, day)))
    return total.figures()


def daily_values(
    parts: Sequence[Partial],
    today: int,
    current: Mapping[str, Value],
    windows: Windows,
    back_days: int,
) -> dict[int, dict[str, Value]]:
    """Day -> figures to write: `current` (the snapshot) for today, exact ones before."""
    days: dict[int, dict[str, Value]] = {today: {n: current[n] for n in SERIES_FIGURES}}
    for day in range(today - back_days, today):
        days[day] = past_figures(parts, day, windows)
    return days


@dataclass(slots=True)
class SeriesBook:
    """What was last written per figure and day, so an emit writes only what moved."""

    written: dict[tuple[str, int], str] = field(default_factory=dict)
    closed: set[tuple[str, int]] = field(default_factory=set)
    """(figure, day) written once every partition had closed the day: what was reported."""

    def diff(self, days: Mapping[int, Mapping[str, Value]]) -> dict[str, dict[str, str]]:
        """Figure -> {YYYY-MM-DD: text} of the values that differ from the last written."""
        out: dict[str, dict[str, str]] = {}
        for day, figures in days.items():
            label = day_to_date(day).isoformat()
            for name, value in figures.items():
                text = field_text(value)
                if self.written.get((name, day)) != text:
                    out.setdefault(name, {})[label] = text
        return out

    def restated(self, changes: Mapping[str, Mapping[str, str]]) -> list[tuple[str, int, str, str]]:
        """(figure, day, previous text, text) of the changes that restate a reported day."""
        out = []
        for name, values in changes.items():
            for label, text in values.items():
                key = (name, date_to_day(date.fromisoformat(label)))
                if key in self.closed:
                    out.append((name, key[1], self.written[key], text))
        return out

    def mark(
        self, changes: Mapping[str, Mapping[str, str]], closed_before: int | None = None
    ) -> None:
        """Remember `changes` as written (call only once they are stored); those of days
        before `closed_before` (every partition has closed them) as reported."""
        for name, values in changes.items():
            for label, text in values.items():
                key = (name, date_to_day(date.fromisoformat(label)))
                self.written[key] = text
                if closed_before is not None and key[1] < closed_before:
                    self.closed.add(key)

    def forget_before(self, day: int) -> None:
        """Drop memory of days no emit will write again."""
        self.closed = {k for k in self.closed if k[1] >= day}
        for key in [k for k in self.written if k[1] < day]:
            del self.written[key]
