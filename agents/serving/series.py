"""Daily values of the figures in Redis, for `GET /metrics/{name}/series`.

Redis holds one hash per figure, `{prefix}series:{name}`, day (YYYY-MM-DD) -> value.
Today's value is the snapshot's; the days a late event can still change are
recomputed where the partials say exactly what they were (state/history.py).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from agents.serving.redis_view import RedisView
from models.settings import Settings
from state.aggregate import Aggregator
from state.clock import US_PER_DAY
from state.figures import Value, Windows
from state.history import SERIES_FIGURES, SeriesBook, daily_values

PAST_DAYS_REFRESH_S = 10.0
"""How often past days' values are recomputed (late events can still change them)."""


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
        self.epoch: int | None = None
        """The Redis epoch the book describes (a new one: Redis may have lost it all)."""

    async def write(
        self, aggregator: Aggregator, snapshot: Mapping[str, object], *, changed: bool
    ) -> list[Restated]:
        """Today's values at every emit; past days at most every `PAST_DAYS_REFRESH_S`;
        returns the reported days' values this write restated.

        Recomputing a past day costs a full MRR evaluation over every partition
        (`back_days` of them per refresh); at every emit that halved the worker's
        throughput on a 13.7k-account world (bench/README-worker.md).
        """
        now = aggregator.stream_time
        if self.epoch != self.redis.epoch:
            self.epoch = self.redis.epoch
            self.book.written.clear()
            self.book.closed.clear()
            self.pending = self.past_owed = True
            self.past_due_at = 0.0
        self.past_owed = self.past_owed or changed
        refresh_past = self.past_owed and time.monotonic() >= self.past_due_at
        if not (changed or self.pending or refresh_past) or now is None:
            return []
        today = now // US_PER_DAY
        parts = aggregator.partials()
        current = {name: _value(snapshot.get(name)) for name in SERIES_FIGURES}
        back_days = self.back_days if refresh_past else 0
        values = daily_values(parts, today, current, self.windows, back_days)
        changes = self.book.diff(values)
        restated = [
            Restated(name, day, previous, values[day][name])
            for name, day, previous, _ in self.book.restated(changes)
        ]
        days = [v.stream_time // US_PER_DAY for v in aggregator.views.values() if v.stream_time]
        if await self.redis.write_series(changes):
            self.book.mark(changes, closed_before=min(days, default=None))
            self.book.forget_before(today - self.back_days)
            self.pending = False
            if refresh_past:
                self.past_owed = False
                self.past_due_at = time.monotonic() + PAST_DAYS_REFRESH_S
            return restated
        self.book.written.clear()
        self.book.closed.clear()
        self.pending = True
        return []


@dataclass(frozen=True, slots=True)
class Restated:
    """A reported day's figure that a write changed: (figure, day, text before, value now)."""

    name: str
    day: int
    previous: str
    value: Value


def _value(value: object) -> Value:
    return value if isinstance(value, Decimal | int) else None
