"""Daily values of the figures in Redis, for `GET /metrics/{name}/series`.

Redis holds one hash per figure, `{prefix}series:{name}`, day (YYYY-MM-DD) -> value.
Today's value is the snapshot's; the days a late event can still change are
recomputed where the partials say exactly what they were (state/history.py); the days
before them are the partitions' final rows, added up once every partition has sent
them (state/final_days.py).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from agents.serving.redis_view import RedisView
from models.redis_text import field_text
from models.settings import Settings
from state.aggregate import Aggregator
from state.clock import US_PER_DAY, day_to_date
from state.day_rows import DaySides
from state.figures import Value, Windows
from state.final_days import FinalDays
from state.history import SERIES_FIGURES, SeriesBook, daily_values

PAST_DAYS_REFRESH_S = 10.0
"""How often past days' values are recomputed (late events can still change them)."""


class SeriesWriter:
    """Writes the series hashes at each emit; recomputes only after the partials changed."""

    def __init__(self, settings: Settings, redis: RedisView) -> None:
        self.windows = Windows(settings.window_days, settings.nps_window_days)
        self.back_days = settings.lateness_days + 1
        """The days each partition still holds open (its tallies; engines keep window +
        lateness + 1 days of movements, enough for them); the days before are final rows."""
        self.redis = redis
        self.book = SeriesBook()
        self.pending = True
        self.past_owed = True
        """Past days changed since they were last recomputed."""
        self.past_due_at = 0.0
        self.epoch: int | None = None
        """The Redis epoch the book describes (a new one: Redis may have lost it all)."""
        self.final_days = FinalDays(settings.topic_partitions)

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
            self.final_days.restart()
        if now is not None:
            await self._write_final(now // US_PER_DAY - self.back_days)
        self.past_owed = self.past_owed or changed
        refresh_past = self.past_owed and time.monotonic() >= self.past_due_at
        if not (changed or self.pending or refresh_past) or now is None:
            return []
        today = now // US_PER_DAY
        parts = aggregator.partials()
        current = {name: _value(snapshot.get(name)) for name in SERIES_FIGURES}
        back_days = self.back_days if refresh_past else 0
        values = daily_values(parts, today, current, self.windows, back_days)
        firsts = [part.first_day for part in parts if part.first_day is not None]
        for day in [d for d in values if firsts and d < min(firsts)]:
            del values[day]  # before the stream's first day: no history (as `replay --series`)
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

    async def _write_final(self, before: int) -> None:
        """The final days before `before` that every partition has sent; if Redis does not
        take them, they are asked for again (a new session)."""
        due = self.final_days.due(before)
        if due and not await self.redis.write_series(final_series(due)):
            self.final_days.restart()


def final_series(days: list[tuple[int, DaySides]]) -> dict[str, dict[str, str]]:
    """Figure -> {YYYY-MM-DD: text} of final day rows, as `write_series` takes them."""
    out: dict[str, dict[str, str]] = {name: {} for name in SERIES_FIGURES}
    for day, sides in days:
        label = day_to_date(day).isoformat()
        for name, value in sides.figures().items():
            out[name][label] = field_text(value)
    return out


@dataclass(frozen=True, slots=True)
class Restated:
    """A reported day's figure that a write changed: (figure, day, text before, value now)."""

    name: str
    day: int
    previous: str
    value: Value


def _value(value: object) -> Value:
    return value if isinstance(value, Decimal | int) else None
