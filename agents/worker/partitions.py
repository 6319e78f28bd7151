"""The input partitions this worker holds: their engines, their mergers, what was received.

Each batch of an input topic-partition is pushed into its partition's merger; the
merger releases records in the order of METRICS.md "Partitions", and each released
record goes through `state.pipeline` (the replay's path too). What the outcome
says (a dead letter, alerts) goes to `Outputs`; a batch is applied synchronously,
so no checkpoint can fall in its middle.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import faust
from faust.types import TP

from agents.serving.telemetry import Telemetry
from agents.worker.checkpoints import PartitionState, restore
from agents.worker.faust_compat import RecordBatch
from agents.worker.merger import TopicMerger
from agents.worker.outputs import Outputs
from agents.worker.table_store import PartitionStore
from models.decode import Decoder
from models.settings import Settings
from state.config import EngineConfig
from state.outcome import Status
from state.pipeline import Pipeline

log = logging.getLogger("growthstream.worker")


class Partitions:
    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        config: EngineConfig,
        checkpoints: Any,
        outputs: Outputs,
        telemetry: Telemetry,
    ) -> None:
        self.app = app
        self.config = config
        self.input_names = list(settings.input_topics())
        self.decoder = Decoder(settings)
        self.checkpoints = checkpoints
        """The changelogged Faust table the partitions' checkpoints live in."""
        self.outputs = outputs
        self.telemetry = telemetry
        self.states: dict[int, PartitionState] = {}
        self.pipelines: dict[int, Pipeline] = {}
        self.mergers: dict[int, TopicMerger[Any]] = {}
        self.received: dict[TP, int] = {}
        self.last_event_ids: dict[int, str] = {}
        self.on_restore: Callable[[int], None] = lambda partition: None
        """Called when a partition's state is restored (the read model is then rewritten)."""

    def state(self, partition: int) -> PartitionState:
        state = self.states.get(partition)
        if state is None:
            store = PartitionStore(self.checkpoints.data, partition)
            state = self.states[partition] = restore(partition, self.config, store)
            self.pipelines[partition] = Pipeline(state.engine, self.decoder)
            self.on_restore(partition)
            log.info("partition %d: restored at offsets %s", partition, state.offsets)
        return state

    def revoke(self, revoked: Iterable[TP]) -> None:
        tps = set(revoked)
        for partition in {tp.partition for tp in tps}:
            self.states.pop(partition, None)
            self.pipelines.pop(partition, None)
            self.mergers.pop(partition, None)
        for tp in tps:
            self.received.pop(tp, None)

    def push(self, batch: RecordBatch) -> None:
        """A fetched batch of one input topic-partition; applies what it lets through."""
        tp = batch.tp
        self.received[tp] = batch.records[-1].offset
        merger = self.mergers.get(tp.partition)
        if merger is None:
            merger = self.mergers[tp.partition] = TopicMerger(self.input_names)
        for record in batch.records:
            merger.push(tp.topic, record.timestamp, record)
        self.drain(tp.partition)

    def has_unread(self, partition: int) -> Callable[[str], bool]:
        def has_unread(topic: str) -> bool:
            tp = TP(topic, partition)
            end = self.app.consumer.highwater(tp)
            return end is None or self.received.get(tp, -1) + 1 < end

        return has_unread

    def drain(self, partition: int) -> None:
        """Apply what the merger releases; synchronous, so no checkpoint interleaves."""
        merger = self.mergers.get(partition)
        if merger is None or not len(merger):
            return
        state = self.state(partition)
        pipeline = self.pipelines[partition]
        for record in list(merger.ready(self.has_unread(partition))):
            self._apply(state, pipeline, record)

    def drain_all(self) -> None:
        for partition in list(self.mergers):
            self.drain(partition)

    def caught_up(self, partition: int) -> bool:
        """True when every input topic of the partition has been applied up to its end."""
        merger = self.mergers.get(partition)
        if merger is not None and len(merger):
            return False
        has_unread = self.has_unread(partition)
        return not any(has_unread(topic) for topic in self.input_names)

    def _apply(self, state: PartitionState, pipeline: Pipeline, record: Any) -> None:
        topic, offset = record.topic, record.offset
        if state.already_applied(topic, offset):
            return
        raw = record.value if isinstance(record.value, bytes) else b""
        outcome = pipeline.message(topic, raw)
        if outcome.event_id is not None:
            self.last_event_ids[state.partition] = outcome.event_id
        state.applied(topic, offset, outcome.account_id)
        rejection = outcome.rejection
        self.telemetry.count(
            None if rejection is None else rejection.type,
            duplicate=outcome.status is Status.DUPLICATE,
            latency_s=time.time() - record.timestamp / 1000,
        )
        if rejection is not None:
            self.outputs.dead_letter(
                rejection, raw, topic=topic, partition=state.partition, offset=offset,
                key=record.key,
            )  # fmt: skip
        if outcome.alerts:
            self.outputs.alerts(outcome.alerts)
