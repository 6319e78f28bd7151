"""Daily values of the figures, for `GET /metrics/{name}/series`.

Redis holds one hash per figure, `{prefix}series:{name}`, day (YYYY-MM-DD) -> value.
The current day's value is the snapshot's. Late events (up to `lateness_days`
behind stream time) can still change earlier days, so at each emit after the
partials changed those days are recomputed, but only where the partials can say
exactly what the figure was at the end of that day:

- MRR figures: the partials hold the current MRR and paying count plus every
  movement by day (kept for window + lateness + 1 days), so the state at the end
  of day D is the current one minus the movements dated after D (`rewound`);
- signups: an account's first signup day never moves later, so its count is exact.

Activity and NPS keep only each user's latest day, which says nothing about who was
active on a past day; their values, and the counters', are written for the current
day only and stay as they were when that day ended.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from agents.aggregator import Aggregator
from agents.redis_view import RedisView, field_text
from models.settings import Settings
from state.clock import US_PER_DAY, date_to_day, day_to_date
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

PAST_DAYS_REFRESH_S = 10.0
"""How often past days' values are recomputed (late events can still change them)."""
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
        """Remember `changes` as written (call only once Redis has them)."""
        for name, values in changes.items():
            for label, text in values.items():
                self.written[(name, _day_of(label))] = text

    def forget_before(self, day: int) -> None:
        """Drop memory of days no emit will write again."""
        for key in [k for k in self.written if k[1] < day]:
            del self.written[key]


def _day_of(label: str) -> int:
    return date_to_day(date.fromisoformat(label))


class SeriesWriter:
    """Writes the series hashes at each emit; recomputes only after the partials changed."""

    def __init__(self, settings: Settings, redis: RedisView) -> None:
        self.windows = Windows(settings.window_days, settings.nps_window_days)
        self.back_days = settings.lateness_days
        """Engines keep window + lateness + 1 days of movements: enough for these days."""
        self.redis = redis
        self.book = SeriesBook()
        self.pending = True
        self.past_owed = True
        """Past days changed since they were last recomputed."""
        self.past_due_at = 0.0

    async def write(
        self, aggregator: Aggregator, snapshot: Mapping[str, object], *, changed: bool
    ) -> None:
        """Today's values at every emit; past days at most every `PAST_DAYS_REFRESH_S`.

        Recomputing a past day costs a full MRR evaluation over every partition
        (`back_days` of them per refresh); at every emit that halved the worker's
        throughput on a 13.7k-account world (bench/README-worker.md).
        """
        now = aggregator.stream_time
        self.past_owed = self.past_owed or changed
        refresh_past = self.past_owed and time.monotonic() >= self.past_due_at
        if not (changed or self.pending or refresh_past) or now is None:
            return
        today = now // US_PER_DAY
        parts = [p.partial for p in aggregator.partitions.values()]
        current = {name: _value(snapshot.get(name)) for name in SERIES_FIGURES}
        back_days = self.back_days if refresh_past else 0
        changes = self.book.diff(daily_values(parts, today, current, self.windows, back_days))
        if await self.redis.write_series(changes):
            self.book.mark(changes)
            self.book.forget_before(today - self.back_days)
            self.pending = False
            if refresh_past:
                self.past_owed = False
                self.past_due_at = time.monotonic() + PAST_DAYS_REFRESH_S
        else:
            self.book.written.clear()
            self.pending = True


def _value(value: object) -> Value:
    return value if isinstance(value, Decimal | int) else None
