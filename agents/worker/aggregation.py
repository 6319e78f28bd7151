"""Partials out, global figures in: the worker's side of `state.aggregate`.

Every `change_interval_ms` each partition publishes its partial state (absolute
values and day buckets, never deltas) to the compacted `<app>-partials` topic; the
worker that owns that topic's single partition feeds them to the `Aggregator`,
emits `metric-changes` (one per changed metric per interval), the global alerts
and the read model, and tells every input partition the global stream time on
`<app>-clock`, which a partition follows once it is idle (agents/worker/partitions.py).
The clock also names the aggregate's session, to which each partition sends its final
day rows once (key `h:{partition}`; state/final_days.py).
Only the current owner of the partials partition emits: after a rebalance the one
that lost it stops at once and forgets what it had aggregated.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any, cast

import faust
import orjson
from faust.types import TP

from agents.serving.api import SNAPSHOT_KINDS
from agents.serving.redis_view import RedisView
from agents.serving.series import Restated, SeriesWriter
from agents.serving.table_writer import TableWriter
from agents.worker.alert_history import recent_alerts
from agents.worker.outputs import Outputs
from agents.worker.partitions import Partitions
from agents.worker.receipt import PartialsReceipt
from models.outputs import MetricRevision, now_iso
from models.redis_text import typed
from models.settings import Settings
from state.aggregate import Aggregator
from state.changes import MONEY_FIGURES
from state.clock import day_to_date, iso_utc
from state.codec import view_from_json, view_to_json
from state.final_days import FinalReport, FinalSender

log = logging.getLogger("growthstream.worker")

FINAL_ROWS_A_MESSAGE = 400
"""Final day rows in one partials message (a few hundred bytes each)."""
REPUBLISH_EVERY = 5
"""Every so many change intervals a partition republishes its partial even if unchanged,
so a restarted aggregator has every partition again within seconds."""


class Aggregation:
    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        aggregator: Aggregator,
        partitions: Partitions,
        outputs: Outputs,
        redis: RedisView,
        series: SeriesWriter,
        partials: faust.TopicT,
        clock: faust.TopicT,
    ) -> None:
        self.app = app
        self.settings = settings
        self.aggregator = aggregator
        self.partitions = partitions
        self.outputs = outputs
        self.redis = redis
        self.series = series
        self.tables = TableWriter(redis)
        self.partials = partials
        self.clock = clock
        self.published: dict[int, tuple[int, int, int, int | None]] = {}
        self.alerts_epoch: int | None = None
        """The Redis epoch in which the alerts stream was last filled from Kafka."""
        self.ticks = 0
        self.receipt = PartialsReceipt()
        self.causes: dict[int, str | None] = {}
        """Each partition's `revised_by` at the last restatement."""
        self.final_senders: dict[int, FinalSender] = {}
        self.sessions: dict[int, str] = {}
        """Each partition's aggregate session, from the clock: whom it owes its final rows."""

    async def _rewrite_alerts(self) -> None:
        """Redis may have lost its alerts stream: fill it again from `churn-alerts`."""
        epoch = self.redis.epoch
        read_from_ms = await self.redis.server_time_ms()
        if read_from_ms is None:
            return
        try:
            history = await recent_alerts(self.settings, self.settings.redis_changes_maxlen)
        except Exception as exc:  # Kafka not answering now: try again at the next emit
            log.warning("cannot read back churn alerts to rewrite Redis: %r", exc)
            return
        if (
            await self.outputs.rewrite_alerts(history, read_from_ms=read_from_ms)
            and self.redis.epoch == epoch
        ):
            self.alerts_epoch = epoch

    def _revisions(self, restated: Sequence[Restated]) -> list[MetricRevision]:
        """The restatements as records; their cause is the newest event dated before its
        partition's day that a view brought since the last restatement (DECISIONS 60)."""
        views = self.aggregator.views
        fresh = [
            (view.stream_time or 0, view.revised_by)
            for partition, view in views.items()
            if view.revised_by is not None and view.revised_by != self.causes.get(partition)
        ]
        self.causes = {p: v.revised_by for p, v in views.items()}
        cause = max(fresh)[1] if fresh else None
        now = self.aggregator.stream_time
        as_of = now_iso() if now is None else iso_utc(now)
        currency = self.aggregator.currency
        return [
            MetricRevision(
                metric=r.name, day=day_to_date(r.day).isoformat(), value=r.value,
                previous=typed(r.previous, SNAPSHOT_KINDS[r.name]), cause_event_id=cause,
                as_of=as_of, currency=currency if r.name in MONEY_FIGURES else None,
            )
            for r in restated
        ]  # fmt: skip

    def forget(self, partition: int) -> None:
        self.published.pop(partition, None)
        self.final_senders.pop(partition, None)

    async def publish_and_emit(self) -> None:
        """Publish changed partials (all of them every few ticks), then, if we own the
        aggregate, emit once they came back (at most half an interval later), so the figures
        include this interval's own partials."""
        self.ticks += 1
        inputs = self.settings.input_topics()
        if self.app.tables.actives_ready:
            for tp in self.app.consumer.assignment():
                if tp.topic in inputs:
                    self.partitions.state(tp.partition)
        republish = self.ticks % REPUBLISH_EVERY == 0
        sends: list[asyncio.Future[Any]] = []
        for partition, state in list(self.partitions.states.items()):
            engine = state.engine
            version = (engine.events, engine.duplicates, engine.dead_letters, engine.stream_time)
            if not republish and self.published.get(partition) == version:
                continue
            self.published[partition] = version
            value = view_to_json(engine, self.partitions.last_event_ids.get(partition))
            sent = await self.partials.send(key=str(partition).encode(), value=orjson.dumps(value))
            sends.append(cast("asyncio.Future[Any]", sent))
        for partition, state in list(self.partitions.states.items()):
            sender = self.final_senders.setdefault(partition, FinalSender())
            engine = state.engine
            reports = sender.reports(
                self.sessions.get(partition), engine.history.final, engine.final_through,
                FINAL_ROWS_A_MESSAGE,
            )  # fmt: skip
            for report in reports:
                sent = await self.partials.send(
                    key=b"h:%d" % partition, value=orjson.dumps(report.to_json())
                )
                sends.append(cast("asyncio.Future[Any]", sent))
        if not self.owns_aggregate():
            return
        if not await self.receipt.sent_and_taken(sends, self.settings.change_interval_ms / 2000):
            log.debug("emitting before this interval's partials came back")
        if self.aggregator.views:
            await self.emit()

    def owns_aggregate(self) -> bool:
        tp = TP(self.partials.get_topic_name(), 0)
        return tp in self.app.consumer.assignment()

    def lost_aggregate(self) -> None:
        """The partials partition went to another worker: what we aggregated is stale."""
        self.aggregator.views.clear()
        self.series.final_days.restart()

    async def consume_partials(self, stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            message = event.message
            key, value = message.key, message.value
            if isinstance(key, bytes) and isinstance(value, bytes):
                if key.startswith(b"h:"):
                    report = FinalReport.from_json(orjson.loads(value))
                    self.series.final_days.take(int(key[2:]), report)
                else:
                    self.aggregator.update(int(key), view_from_json(orjson.loads(value)))
            self.receipt.took(message.offset)

    async def emit(self) -> None:
        """The global alerts and changes, the figures and series in Redis, then the alerts in
        Redis: after Redis lost them (and at start) they are first read back from
        `churn-alerts`, which takes a Kafka consumer of its own, so the figures do not wait
        for it."""
        alerts = self.aggregator.alerts()
        if alerts:
            self.outputs.alerts(alerts, None)
        changed = self.aggregator.changed
        if changed:
            records = self.aggregator.changes(now_iso())
            self.outputs.changes(records)
            if records:
                await self.redis.append_changes(records)
        snapshot = self.aggregator.snapshot()
        figures = _has_figures(snapshot)
        if figures:  # else GET /metrics answers 503 "no figures yet" rather than zeros
            await self.redis.write_metrics(snapshot)
            restated = await self.series.write(self.aggregator, snapshot, changed=changed)
            if restated:
                revisions = self._revisions(restated)
                self.outputs.revisions(revisions)
                await self.redis.append_revisions(revisions)
            await self.tables.write(self.aggregator, changed=changed)
        if self.alerts_epoch != self.redis.epoch:
            await self._rewrite_alerts()
        await self.outputs.write_alerts()
        if not figures:
            return
        now = self.aggregator.stream_time
        if now is not None:
            tick = f"{now} {self.series.final_days.session}".encode()
            for partition in range(self.settings.topic_partitions):
                await self.clock.send(key=str(partition).encode(), value=tick, partition=partition)

    async def follow_clock(self, stream: faust.StreamT[Any]) -> None:
        """Keep the global stream time for each partition (followed only when it idles)."""
        async for event in stream.events():
            partition, value = event.message.partition, event.message.value
            if partition in self.partitions.states and isinstance(value, bytes):
                moment, _, session = value.decode().partition(" ")
                self.partitions.global_time[partition] = int(moment)
                if session:
                    self.sessions[partition] = session


def _has_figures(snapshot: Mapping[str, object]) -> bool:
    """True once any partition has taken a message: an event gives a stream time, a
    duplicate or a dead letter a count."""
    return snapshot.get("as_of") is not None or any(
        snapshot.get(name) for name in ("events", "duplicates", "dead_letters")
    )
