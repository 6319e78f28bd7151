"""The figures of past days, where the partial states can say exactly what they were.

Late events (up to the allowed lateness behind stream time) can still change
earlier days, so the daily series are recomputed for those days, but only for
the figures whose past value the partials hold exactly:

- MRR figures: the partials hold the current MRR and paying count plus every
  movement by day (kept for window + lateness + 1 days), so the state at the end
  of day D is the current one minus the movements dated after D (`rewound`);
- signups: an account's first signup day never moves later, so its count is exact.

Activity and NPS keep only each user's latest day, which says nothing about who was
active on a past day; their values, and the counters', are the current day's only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from models.redis_text import field_text
from state.clock import date_to_day, day_to_date
from state.figures import (
    FIGURES,
    MRR_FIGURES,
    SIGNUP_FIGURES,
    Group,
    Partial,
    Value,
    Windows,
    figures_at,
)

SERIES_FIGURES: tuple[str, ...] = FIGURES
"""Every figure has a series (counters too: their value at the end of each day)."""
RECOMPUTED: tuple[str, ...] = MRR_FIGURES + SIGNUP_FIGURES
"""Figures whose past days can be recomputed exactly from the partials."""


def rewound(part: Partial, day: int) -> Partial:
    """`part` as it stood at the end of `day`: movements dated after it taken back."""
    mrr, paying = part.mrr, part.paying
    for d, bucket in part.movement_days.items():
        if d > day:
            mrr -= (
                bucket.new
                + bucket.expansion
                + bucket.reactivation
                - bucket.contraction
                - bucket.churned
            )
            paying -= bucket.new_count + bucket.reactivation_count - bucket.churned_count
    return replace(part, mrr=mrr, paying=paying)


def past_figures(parts: Sequence[Partial], day: int, windows: Windows) -> dict[str, Value]:
    """The exactly recomputable figures (`RECOMPUTED`) at the end of a past `day`."""
    return figures_at([rewound(p, day) for p in parts], day, windows, Group.MRR | Group.SIGNUPS)


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

    def mark(self, changes: Mapping[str, Mapping[str, str]]) -> None:
        """Remember `changes` as written (call only once they are stored)."""
        for name, values in changes.items():
            for label, text in values.items():
                self.written[(name, date_to_day(date.fromisoformat(label)))] = text

    def forget_before(self, day: int) -> None:
        """Drop memory of days no emit will write again."""
        for key in [k for k in self.written if k[1] < day]:
            del self.written[key]
