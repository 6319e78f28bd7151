"""The Faust worker: the app, its agents and timers, and the collaborators they call.

Each collaborator has one job: `Partitions` turns input batches into outcomes
(through `state.pipeline`), `Outputs` publishes what they say, `Checkpointer`
makes the state durable before offsets are committed, `Aggregation` publishes
partials and, where this worker owns the aggregate, emits the global figures.
This module only wires them to Faust.

Run with `growthstream worker` (or `faust -A agents.worker.app worker`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final, cast

import faust
from faust.types import TP

from agents.engine_config import engine_config
from agents.kafka.config import faust_brokers, faust_credentials
from agents.kafka.topics import dead_letter_topic_bytes
from agents.serving.redis_view import RedisView
from agents.serving.series import SeriesWriter
from agents.serving.telemetry import Telemetry, TopicPartition, consumer_lag
from agents.serving.web import json_errors, register_views
from agents.worker.aggregation import Aggregation
from agents.worker.checkpointer import Checkpointer
from agents.worker.faust_compat import BatchingConsumer, GrowthApp, RecordBatch, add_middleware
from agents.worker.outputs import Outputs
from agents.worker.partitions import Partitions
from agents.worker.table_store import table_store
from agents.worker.topics import clock_topic, partials_topic
from models.settings import Settings
from state.aggregate import Aggregator

log = logging.getLogger("growthstream.worker")

BATCH_QUEUE = 4
"""Record batches a topic's channel may hold before the fetcher waits for its agent."""
STORE_OPTIONS: Final = {
    "write_buffer_size": 8 * 1024**2,
    "max_write_buffer_number": 2,
    "block_cache_size": 32 * 1024**2,
}
"""RocksDB sizes of each partition's checkpoint database (`faust.stores.rocksdb.RocksDBOptions`;
the memory store ignores them). Faust's defaults (64 MB memtables, up to 3 of them, and a
2 GB block cache, per partition) are for tables read on every event; a checkpoint store is
written every few seconds and read only on a restore."""
DRAIN_INTERVAL_S = 0.05
"""How often held input is re-examined and idle partitions are looked for."""


def _logged(step: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """A timer's step that logs what it raises and lets the next interval try again: a
    failing step must say so, and must not end its timer for good."""

    async def run() -> None:
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; trying again at the next interval", step.__qualname__)

    run.__qualname__ = step.__qualname__
    return run


class GrowthWorker:
    """Everything one worker process holds, wired to its Faust app."""

    def __init__(self, app: GrowthApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        config = engine_config(settings)
        raw: dict[str, Any] = {"key_type": bytes, "value_type": bytes}
        raw |= {"key_serializer": "raw", "value_serializer": "raw"}
        n = settings.topic_partitions
        self.redis = RedisView(settings)
        self.telemetry = Telemetry()
        self.outputs = Outputs(app, settings, self.redis)
        self.checkpoints = app.Table(
            "checkpoints", partitions=n, key_type=bytes, value_type=bytes, options=STORE_OPTIONS
        )
        self.partitions = Partitions(
            app, settings, config, self.checkpoints, self.outputs, self.telemetry
        )
        self.partitions.on_restore = self._restored
        self.aggregator = Aggregator(
            config.windows, config.alert_rules, n, currency=config.reporting_currency
        )
        partials = app.topic(
            partials_topic(settings), partitions=1, compacting=True, internal=True, **raw
        )
        clock = app.topic(clock_topic(settings), partitions=n, internal=True, **raw)
        self.aggregation = Aggregation(
            app, settings, self.aggregator, self.partitions, self.outputs, self.redis,
            SeriesWriter(settings, self.redis), partials, clock,
        )  # fmt: skip
        self.checkpointer = Checkpointer(
            app, self.partitions, self.checkpoints, self.outputs, self.redis, self.telemetry
        )
        for name in settings.input_topics():
            topic = app.topic(name, partitions=n, acks=False, **raw)
            app.topics.add(topic)
            channel = app.channel(maxsize=BATCH_QUEUE)
            app.deliver_in_batches(name, channel)
            app.agent(channel, name=f"consume-{name}", concurrency=1)(self._consume)
        app.agent(partials, name="aggregate", concurrency=1)(self.aggregation.consume_partials)
        app.agent(clock, name="clock", concurrency=1)(self.aggregation.follow_clock)
        timer = app.timer
        timer(settings.checkpoint_interval_ms / 1000, name="checkpoint")(
            _logged(self.checkpointer.checkpoint_all)
        )
        timer(settings.change_interval_ms / 1000, name="publish")(
            _logged(self.aggregation.publish_and_emit)
        )
        timer(DRAIN_INTERVAL_S, name="tick")(_logged(self._tick))
        app.on_partitions_revoked.connect(self._on_revoked)  # type: ignore[arg-type]

    def lag(self) -> dict[TopicPartition, int | None]:
        """Lag of each input partition assigned to this worker (`/health`, `/prometheus`)."""
        consumer = self.app.consumer
        partitions = self.partitions
        inputs = set(partitions.input_names)
        lag: dict[TopicPartition, int | None] = {}
        for tp in consumer.assignment():
            if tp.topic not in inputs:
                continue
            state = partitions.states.get(tp.partition)
            applied = None if state is None else state.offsets.get(tp.topic)
            lag[(tp.topic, tp.partition)] = consumer_lag(
                consumer.highwater(tp), partitions.received.get(tp), applied
            )
        return lag

    def recovered(self) -> bool:
        return bool(self.app.tables.actives_ready)

    def rebalancing(self) -> bool:
        return bool(self.app.rebalancing)

    def problems(self) -> list[str]:
        return [] if self.outputs.problem is None else [self.outputs.problem]

    def _restored(self, partition: int) -> None:
        self.checkpointer.rewrite_accounts()

    async def _on_revoked(self, app: Any, revoked: set[TP], **_: Any) -> None:
        inputs = set(self.partitions.input_names)
        self.partitions.revoke(tp for tp in revoked if tp.topic in inputs)
        for partition in {tp.partition for tp in revoked if tp.topic in inputs}:
            self.aggregation.forget(partition)
        if any(tp.topic == partials_topic(self.settings) for tp in revoked):
            self.aggregation.lost_aggregate()

    async def _consume(self, stream: faust.StreamT[RecordBatch]) -> None:
        consumer = cast(BatchingConsumer, self.app.consumer)
        async for batch in stream:
            if (
                batch.rebalances != self.app.rebalancing_count
                or batch.generation_id != self.app.consumer_generation_id
                or batch.seeks != consumer.seeks(batch.tp)
                or self.app.rebalancing
            ):
                continue  # overtaken by a rebalance or a seek, which fetches it again
            if batch.tp not in consumer.assignment():
                continue
            resume = self.partitions.resume_at(batch)
            if resume is not None:
                await consumer.seek(batch.tp, resume)
                continue
            self.partitions.push(batch)
            self._flow([batch.tp.partition])
            await self.app.producer.buffer.wait_until_ebb()

    def _flow(self, partitions: list[int] | None = None) -> None:
        """Pause fetching the topic-partitions the merger holds too much of, resume the rest."""
        pause, resume = self.partitions.flow(partitions)
        if pause or resume:
            cast(BatchingConsumer, self.app.consumer).hold_back(
                pause, resume, self.partitions.paused
            )

    async def _tick(self) -> None:
        self.partitions.tick()
        if self.app.rebalancing:
            return
        self._flow()
        consumer = cast(BatchingConsumer, self.app.consumer)
        assigned = consumer.assignment()
        for tp, offset in self.partitions.stalled():
            if tp in assigned:
                await consumer.seek(tp, offset)


def build_app(settings: Settings | None = None, *, web_port: int | None = None) -> faust.App:
    settings = settings or Settings()
    port = web_port or 6066
    datadir = Path(settings.data_dir) / f"{settings.app_id}-{port}"
    datadir.mkdir(parents=True, exist_ok=True)
    app = GrowthApp(
        settings.app_id,
        broker=faust_brokers(settings),
        broker_credentials=faust_credentials(settings),
        store=table_store(settings),
        datadir=str(datadir),
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=1,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        autodiscover=False,
        web_port=port,
        web_host=settings.web_host,
        broker_commit_interval=1.0,
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
        producer_max_request_size=max(2 * 1024 * 1024, 2 * dead_letter_topic_bytes(settings)),
        table_standby_replicas=0,
        stream_wait_empty=False,
        timezone=None,
    )
    app.growth = GrowthWorker(app, settings)  # type: ignore[attr-defined]
    register_views(app, app.growth)  # type: ignore[attr-defined]
    add_middleware(app, json_errors)
    return app


def __getattr__(name: str) -> Any:
    """`agents.worker.app:app` for `faust -A agents.worker.app`, built on first use."""
    if name == "app":
        global _app
        if _app is None:
            _app = build_app()
        return _app
    raise AttributeError(name)


_app: faust.App | None = None
