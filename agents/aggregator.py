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
from state.changes import ChangeTracker
from state.clock import US_PER_DAY, day_to_date, iso_utc
from state.codec import Json, partial_from_json
from state.figures import Partial, Value, Windows, figures_at


@dataclass(slots=True)
class Published:
    partial: Partial
    stream_time: int | None
    last_event_id: str | None


@dataclass(slots=True)
class Aggregator:
    windows: Windows
    partitions: dict[int, Published] = field(default_factory=dict)
    tracker: ChangeTracker | None = None
    changed_since_emit: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Aggregator:
        return cls(Windows(settings.window_days, settings.nps_window_days))

    def update(self, partition: int, raw: Json) -> None:
        partial, stream_time = partial_from_json(raw)
        self.partitions[partition] = Published(partial, stream_time, raw.get("last_event_id"))
        self.changed_since_emit = True

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
