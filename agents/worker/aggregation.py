"""Partials out, global figures in: the worker's side of `state.aggregate`.

Every `change_interval_ms` each partition publishes its partial state (absolute
values and day buckets, never deltas) to the compacted `<app>-partials` topic; the
worker that owns that topic's single partition feeds them to the `Aggregator`,
emits `metric-changes` (one per changed metric per interval), the global alerts
and the read model, and tells every input partition the global stream time on
`<app>-clock`: a partition that has caught up with its input moves to it, so its
due cancellations and lapses fire as in a single-stream replay.
"""

from __future__ import annotations

from typing import Any

import faust
import orjson

from agents.serving.redis_view import RedisView
from agents.serving.series import SeriesWriter
from agents.worker.outputs import Outputs
from agents.worker.partitions import Partitions
from models.outputs import now_iso
from models.settings import Settings
from state.aggregate import Aggregator
from state.codec import view_from_json, view_to_json

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
        self.partials = partials
        self.clock = clock
        self.published: dict[int, tuple[int, int, int, int | None]] = {}
        self.ticks = 0

    def forget(self, partition: int) -> None:
        self.published.pop(partition, None)

    async def publish_and_emit(self) -> None:
        """Publish changed partials (all of them every few ticks), then aggregate if we own it."""
        self.ticks += 1
        inputs = self.settings.input_topics()
        if self.app.tables.actives_ready:
            for tp in self.app.consumer.assignment():
                if tp.topic in inputs:
                    self.partitions.state(tp.partition)
        republish = self.ticks % REPUBLISH_EVERY == 0
        for partition, state in list(self.partitions.states.items()):
            engine = state.engine
            version = (engine.events, engine.duplicates, engine.dead_letters, engine.stream_time)
            if not republish and self.published.get(partition) == version:
                continue
            self.published[partition] = version
            value = view_to_json(engine, self.partitions.last_event_ids.get(partition))
            await self.partials.send(key=str(partition).encode(), value=orjson.dumps(value))
        if self.aggregator.views:
            await self.emit()

    async def consume_partials(self, stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            message = event.message
            if message.key is not None and isinstance(message.value, bytes):
                self.aggregator.update(
                    int(message.key), view_from_json(orjson.loads(message.value))
                )

    async def emit(self) -> None:
        alerts = self.aggregator.alerts()
        if alerts:
            self.outputs.alerts(alerts)
        await self.outputs.write_alerts()
        changed = self.aggregator.changed
        if changed:
            await self.outputs.changes(self.aggregator.changes(now_iso()))
        snapshot = self.aggregator.snapshot()
        await self.redis.write_metrics(snapshot)
        await self.series.write(self.aggregator, snapshot, changed=changed)
        now = self.aggregator.stream_time
        if now is not None:
            for partition in range(self.settings.topic_partitions):
                await self.clock.send(
                    key=str(partition).encode(), value=str(now).encode(), partition=partition
                )

    async def follow_clock(self, stream: faust.StreamT[Any]) -> None:
        async for event in stream.events():
            partition = event.message.partition
            state = self.partitions.states.get(partition)
            if state is None or not isinstance(event.message.value, bytes):
                continue
            if self.partitions.caught_up(partition):
                outcome = state.engine.advance_to(int(event.message.value))
                if outcome.alerts:
                    self.outputs.alerts(outcome.alerts)
