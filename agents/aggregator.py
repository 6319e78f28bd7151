"""Global figures from the partitions' partial states (absolute values, never deltas).

Each partition publishes its `Partial` (per-day buckets, MRR, counters) with its
stream time; the aggregator keeps the latest per partition and evaluates
`figures_at` at the global stream time (the largest over partitions, METRICS.md
"Time"). A redelivered or repeated partial replaces the previous one, so the
global figures cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models.settings import Settings
from state.alerts import Alert, AlertRules, DayClose, GlobalAlerts
from state.changes import ChangeTracker
from state.clock import US_PER_DAY, day_to_date, iso_utc
from state.codec import Json, partial_from_json
from state.figures import Partial, Value, Windows, figures_at


@dataclass(slots=True)
class Published:
    partial: Partial
    stream_time: int | None
    last_event_id: str | None
    day_closes: dict[int, DayClose] = field(default_factory=dict)


@dataclass(slots=True)
class Aggregator:
    windows: Windows
    expected_partitions: int = 1
    global_alerts: GlobalAlerts = field(default_factory=lambda: GlobalAlerts(AlertRules()))
    partitions: dict[int, Published] = field(default_factory=dict)
    tracker: ChangeTracker | None = None
    changed_since_emit: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Aggregator:
        return cls(
            Windows(settings.window_days, settings.nps_window_days),
            expected_partitions=settings.topic_partitions,
            global_alerts=GlobalAlerts(AlertRules.from_settings(settings)),
        )

    def update(self, partition: int, raw: Json) -> None:
        partial, stream_time = partial_from_json(raw)
        closes = {day: DayClose(*close) for day, *close in raw.get("day_closes", ())}
        self.partitions[partition] = Published(
            partial, stream_time, raw.get("last_event_id"), closes
        )
        self.changed_since_emit = True

    def alerts(self) -> list[Alert]:
        """Global alerts of the days every partition has closed, not reported before.

        Walked from the first day any partition saw, so a restarted aggregator
        repeats earlier alerts with their ids (consumers dedupe) rather than miss one.
        """
        if len(self.partitions) < self.expected_partitions:
            return []
        times = [p.stream_time for p in self.partitions.values()]
        if any(t is None for t in times):
            return []
        closed_through = min(t for t in times if t is not None) // US_PER_DAY - 1
        next_day = self.global_alerts.next_day
        if next_day is not None and next_day > closed_through:
            return []
        histories = [p.day_closes for p in self.partitions.values()]
        return self.global_alerts.catch_up(histories, closed_through)

    @property
    def stream_time(self) -> int | None:
        times = [p.stream_time for p in self.partitions.values() if p.stream_time is not None]
        return max(times, default=None)

    def snapshot(self) -> dict[str, Value | str]:
        now = self.stream_time
        day = None if now is None else now // US_PER_DAY
        figures = figures_at([p.partial for p in self.partitions.values()], day, self.windows)
        head: dict[str, Value | str] = {
            "as_of": None if now is None else iso_utc(now),
            "day": None if day is None else day_to_date(day).isoformat(),
        }
        return head | figures

    def changes(self, emitted_at: str) -> list[dict[str, Any]]:
        """Metric changes since the last call (coalesced: one per metric, its latest value)."""
        self.changed_since_emit = False
        snapshot = self.snapshot()
        if snapshot["as_of"] is None:
            return []
        figures: dict[str, Value] = {
            k: v
            for k, v in snapshot.items()
            if k not in ("as_of", "day") and not isinstance(v, str)
        }
        if self.tracker is None:
            self.tracker = ChangeTracker(figures_at([], None, self.windows), self.windows)
        cause = max(
            (p for p in self.partitions.values() if p.stream_time is not None),
            key=lambda p: p.stream_time or 0,
        ).last_event_id
        return self.tracker.changes(
            figures, as_of=str(snapshot["as_of"]), cause_event_id=cause, emitted_at=emitted_at
        )
