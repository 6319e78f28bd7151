"""Global figures, metric changes and global alerts from the partitions' partial states.

Each partition contributes a `PartitionView`: its `Partial` (absolute values and
per-day buckets, never deltas), its stream time, its last applied event and the
closes of the days it has left. The aggregator keeps the latest view per
partition and evaluates `figures_at` at the global stream time (the largest over
partitions, METRICS.md "Time"); a repeated view replaces the previous one, so the
figures cannot drift. The embedded replay is one partition (or P) plus this
aggregator; the worker is many partitions, their views carried over Kafka, plus
this aggregator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from models.outputs import ChurnAlert, MetricChange
from models.tables import CohortRow, MonthRow
from state.alerts import AlertRules, DayClose, GlobalAlerts
from state.changes import ChangeTracker
from state.clock import US_PER_DAY, day_to_date, iso_utc
from state.engine import Engine
from state.figures import Group, Partial, Value, Windows, figures_at
from state.month_tables import cohort_rows, month_rows
from state.months import month_of


@dataclass(slots=True)
class PartitionView:
    """What one partition publishes for the aggregate."""

    partial: Partial
    stream_time: int | None
    last_event_id: str | None
    day_closes: Mapping[int, DayClose] = field(default_factory=dict)
    revised_by: str | None = None
    """The partition's last applied event dated before its day (state/day_history.py)."""


def view_of(engine: Engine, last_event_id: str | None) -> PartitionView:
    """The view of an engine in this process (a snapshot of its absolute values)."""
    return PartitionView(
        engine.partial(), engine.stream_time, last_event_id, engine.day_closes,
        engine.history.revised_by,
    )  # fmt: skip


class Aggregator:
    """The latest view of every partition, and what follows from all of them together."""

    __slots__ = (
        "_global", "_tracker", "changed", "currency", "expected_partitions", "views", "windows",
    )  # fmt: skip

    def __init__(
        self,
        windows: Windows,
        alert_rules: AlertRules,
        expected_partitions: int = 1,
        *,
        currency: str = "USD",
    ) -> None:
        self.windows = windows
        self.currency = currency
        """The reporting currency, named in the snapshot (the partials hold only amounts)."""
        self.expected_partitions = expected_partitions
        self.views: dict[int, PartitionView] = {}
        self._global = GlobalAlerts(alert_rules)
        self._tracker = ChangeTracker(figures_at([], None, windows), windows, currency)
        self.changed = False
        """A view arrived since the last `changes()`."""

    def update(self, partition: int, view: PartitionView) -> None:
        self.views[partition] = view
        self.changed = True

    @property
    def stream_time(self) -> int | None:
        times = [v.stream_time for v in self.views.values() if v.stream_time is not None]
        return max(times, default=None)

    @property
    def day(self) -> int | None:
        now = self.stream_time
        return None if now is None else now // US_PER_DAY

    def partials(self) -> list[Partial]:
        return [view.partial for view in self.views.values()]

    def figures(self, groups: int = Group.ALL) -> dict[str, Value]:
        return figures_at(self.partials(), self.day, self.windows, groups)

    def snapshot(self) -> dict[str, Value | str]:
        """Every figure of METRICS.md at the global day, with `as_of`, `day` and `currency`."""
        now, day = self.stream_time, self.day
        head: dict[str, Value | str] = {
            "as_of": None if now is None else iso_utc(now),
            "day": None if day is None else day_to_date(day).isoformat(),
            "currency": self.currency,
        }
        return head | self.figures()

    def _month(self) -> int | None:
        day = self.day
        return None if day is None else month_of(day)

    def months(self) -> list[MonthRow]:
        """The monthly MRR movements table through the month of the global day."""
        return month_rows([p.months for p in self.partials()], self._month(), self.currency)

    def cohorts(self) -> list[CohortRow]:
        """The cohort table through the month of the global day."""
        return cohort_rows([p.cohorts for p in self.partials()], self._month(), self.currency)

    def changes(
        self,
        emitted_at: str,
        groups: int = Group.ALL,
        *,
        cause: str | None = None,
        latest_cause: bool = True,
    ) -> list[MetricChange]:
        """Metric changes of the figures in `groups` since the last call, one per metric.

        The cause is `cause`, or (`latest_cause`) the last event applied by the
        partition with the latest stream time (docs/DECISIONS.md 30).
        """
        self.changed = False
        now = self.stream_time
        if now is None:
            return []
        if latest_cause and cause is None:
            latest = max(
                (v for v in self.views.values() if v.stream_time is not None),
                key=lambda v: v.stream_time or 0,
            )
            cause = latest.last_event_id
        return self._tracker.changes(
            self.figures(groups), as_of=iso_utc(now), cause_event_id=cause, emitted_at=emitted_at
        )

    @property
    def alerts_next_day(self) -> int | None:
        """The first day the global alerts have not walked yet."""
        return self._global.next_day

    def alerts(self) -> list[ChurnAlert]:
        """Global alerts of the days every partition has closed, not reported before.

        Walked from the first day any partition saw, so an aggregator that starts
        again repeats earlier alerts with their ids (consumers dedupe) rather than
        miss one.
        """
        if len(self.views) < self.expected_partitions:
            return []
        times = [v.stream_time for v in self.views.values()]
        if any(t is None for t in times):
            return []
        closed_through = min(t for t in times if t is not None) // US_PER_DAY - 1
        next_day = self._global.next_day
        if next_day is not None and next_day > closed_through:
            return []
        histories = [v.day_closes for v in self.views.values()]
        return self._global.catch_up(histories, closed_through)
