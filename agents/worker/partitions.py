"""The input partitions this worker holds: their engines, their mergers, what was received.

Each batch of an input topic-partition is pushed into its partition's merger; the
merger releases records in the order of METRICS.md "Partitions", and each released
record goes through `state.pipeline` (the replay's path too) with its Kafka record
timestamp. What the outcome says (a dead letter, alerts, the accounts it touched)
goes to `Outputs` and the partition's state; a batch is applied synchronously, so no
checkpoint can fall in its middle. A partition that has applied all its input and
received nothing for `idle_ms` follows the global stream time (METRICS.md "Idle
partitions"): the one place where wall-clock time enters.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, cast

import faust
from faust.types import TP

from agents.serving.telemetry import Telemetry
from agents.worker.checkpoints import PartitionState, restore
from agents.worker.faust_compat import BatchingConsumer, RecordBatch
from agents.worker.merger import Blocked, TopicMerger
from agents.worker.outputs import Outputs
from agents.worker.table_store import PartitionStore
from models.decode import Decoder
from models.settings import Settings
from state.alerts import GLOBAL
from state.config import EngineConfig
from state.outcome import Outcome, Status
from state.pipeline import Pipeline

log = logging.getLogger("growthstream.worker")

ANSWER_GAP_S = 2.0
"""Two polls of a topic-partition further apart than this: the broker stopped answering in
between (a fetch without data returns within its max wait, 0.5 s)."""


STALL_S = 5.0
"""Seconds an input topic-partition with records still to read may deliver nothing while
the broker answers before it is sought back (`Partitions.stalled`)."""
SEEKS_BEFORE_GAP = 3
"""Seeks back to the same offset before a fetch that still starts past it is taken as a gap
in the topic (`Partitions.resume_at`)."""
HELD_HIGH = 20_000
"""Records of one input topic-partition the merger may hold before its fetching is paused
(Kafka Streams' `buffered.records.per.partition`). A drain applies for at most
`DRAIN_BUDGET_S`, so during a catch-up the fetcher hands on batches faster than they are
applied; without a bound, the merger held the backlog itself (800k records, about 0.4 KB
each, in the state benchmark's catch-up; bench/README-state.md)."""
HELD_LOW = 5_000
"""A paused topic-partition is fetched again once the merger holds fewer of its records."""
DRAIN_BUDGET_S = 0.05
"""Longest a partition's drain applies records before it lets the event loop go on."""
DRAIN_CHECK_EVERY = 256
"""Records applied between two looks at the clock in a drain."""


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
        """In EVENTS.md's order: the merge's tie-break between topics."""
        self.decoder = Decoder(settings)
        self.checkpoints = checkpoints
        """The changelogged Faust table the partitions' checkpoints live in."""
        self.outputs = outputs
        self.telemetry = telemetry
        self.idle_s = settings.idle_ms / 1000
        self.merge_wait_ms = settings.merge_wait_ms
        self.states: dict[int, PartitionState] = {}
        self.pipelines: dict[int, Pipeline] = {}
        self.mergers: dict[int, TopicMerger[Any]] = {}
        self.received: dict[TP, int] = {}
        self.global_time: dict[int, int] = {}
        """Partition -> the global stream time the aggregator last told it."""
        self.last_event_ids: dict[int, str] = {}
        self._answering: dict[TP, tuple[float, float]] = {}
        """Input topic-partition -> (first, last) poll of its current unbroken run of polls."""
        self._last_ts: dict[int, int] = {}
        self._last_batch: dict[TP, float] = {}
        """Input topic-partition -> when (monotonic) it last delivered a batch, or was restored
        or sought."""
        self._resumed: dict[TP, tuple[int, int]] = {}
        """Input topic-partition -> (the offset it was last sought back to, how often)."""
        self.paused: set[TP] = set()
        """Input topic-partitions whose fetching is paused while the merger holds many of
        their records (`flow`)."""
        self.on_restore: Callable[[int], None] = lambda partition: None
        """Called when a partition's state is restored (the read model is then rewritten)."""

    def state(self, partition: int) -> PartitionState:
        state = self.states.get(partition)
        if state is None:
            store = PartitionStore(self.checkpoints.data, partition)
            generation = self.app.consumer_generation_id
            state = self.states[partition] = restore(partition, self.config, store, generation)
            self.pipelines[partition] = Pipeline(state.engine, self.decoder)
            self.mergers[partition] = TopicMerger(self.input_names)
            now = time.monotonic()
            for topic in self.input_names:
                self._last_batch[TP(topic, partition)] = now
            self.outputs.resend(partition, state.outbox)
            self.on_restore(partition)
            log.info("partition %d: restored at offsets %s", partition, state.offsets)
        return state

    def revoke(self, revoked: Iterable[TP]) -> None:
        tps = set(revoked)
        for partition in {tp.partition for tp in tps}:
            self.states.pop(partition, None)
            self.pipelines.pop(partition, None)
            self.mergers.pop(partition, None)
            self.global_time.pop(partition, None)
        for tp in tps:
            self.received.pop(tp, None)
            self._answering.pop(tp, None)
            self._resumed.pop(tp, None)
            self._last_batch.pop(tp, None)
            self.paused.discard(tp)

    def flow(self, partitions: Iterable[int] | None = None) -> tuple[list[TP], list[TP]]:
        """(topic-partitions to pause, to resume): paused above `HELD_HIGH` records waiting in
        their merger, fetched again below `HELD_LOW`; of `partitions` (None: every one)."""
        pause: list[TP] = []
        resume: list[TP] = []
        paused = self.paused
        for partition in self.mergers if partitions is None else partitions:
            merger = self.mergers.get(partition)
            if merger is None:
                continue
            for topic in self.input_names:
                tp = TP(topic, partition)
                held = merger.held(topic)
                if tp in paused:
                    if held < HELD_LOW:
                        paused.discard(tp)
                        self._last_batch[tp] = time.monotonic()
                        resume.append(tp)
                elif held > HELD_HIGH:
                    paused.add(tp)
                    pause.append(tp)
        return pause, resume

    def push(self, batch: RecordBatch) -> None:
        """A fetched batch of one input topic-partition; applies what it lets through."""
        tp = batch.tp
        self.state(tp.partition)
        self.received[tp] = batch.records[-1].offset
        self._last_batch[tp] = time.monotonic()
        arrival = time.time() * 1000
        merger = self.mergers[tp.partition]
        for record in batch.records:
            merger.push(tp.topic, record.timestamp, record.offset, record, arrival)
        self.drain(tp.partition)

    def _next_needed(self, tp: TP, state: PartitionState | None) -> int:
        """The next offset of `tp` the partition needs: after the last record received, or
        the restored checkpoint's, whichever is later (0: nothing of it yet)."""
        applied = -1 if state is None else state.offsets.get(tp.topic, -1)
        return max(self.received.get(tp, -1), applied) + 1

    def resume_at(self, batch: RecordBatch) -> int | None:
        """Where to seek `batch`'s topic-partition back to, when the batch starts past the
        next record the partition needs (the last one received or checkpointed, plus one);
        None to take the batch.

        A fetch that crossed a rebalance's seek (taken before it, handed on after it) moves
        the fetch position past records never applied, and a committed offset past the
        restored checkpoint would do the same: either would skip records for good. Offsets
        that are not there (a transaction marker, a retention cut) leave a gap
        however often the partition is sought back, so after `SEEKS_BEFORE_GAP` seeks to the
        same offset the gap is taken, and logged."""
        tp = batch.tp
        needed = self._next_needed(tp, self.state(tp.partition))
        first = batch.records[0].offset
        if needed == 0 or first <= needed:
            return None
        target, tries = self._resumed.get(tp, (needed, 0))
        tries = tries if target == needed else 0
        if tries < SEEKS_BEFORE_GAP:
            self._resumed[tp] = (needed, tries + 1)
            log.info(
                "partition %d: %s fetched from offset %d, needs %d: seeking back",
                tp.partition, tp.topic, first, needed,
            )  # fmt: skip
            return needed
        log.warning(
            "partition %d: %s offsets %d-%d are not in the topic: taken as a gap",
            tp.partition, tp.topic, needed, first - 1,
        )  # fmt: skip
        return None

    def has_unread(self, partition: int) -> Callable[[str], bool]:
        """Whether a topic of the partition may hold records this worker has not received:
        its position (the next offset it will get) is below the broker's end offset, or the
        end offset is unknown, or below the position. The position counts what reached the
        merger, or the restored checkpoint, never what the consumer has handed on but is
        still on its way (in the topic's channel). An end offset below it is a broker that
        restarted uncleanly: it reloads its high watermark from a checkpoint file, so records
        it holds stay hidden until the next append moves the watermark (docs/DECISIONS.md
        52)."""
        consumer = cast(BatchingConsumer, self.app.consumer)
        state = self.states.get(partition)

        def has_unread(topic: str) -> bool:
            tp = TP(topic, partition)
            end = consumer.highwater(tp)
            return end is None or self._next_needed(tp, state) != end

        return has_unread

    def blocked(self, partition: int) -> Blocked:
        """May a topic of the partition still deliver a record that comes before one that
        arrived at `arrival` (ms)? Yes while it has unread records, while its end offset is
        not known to be newer than that arrival, and for `merge_wait_ms` after it: a
        producer's appends to several topics can become visible in another order than they
        were made (docs/DECISIONS.md 40)."""
        consumer = cast(BatchingConsumer, self.app.consumer)
        has_unread = self.has_unread(partition)
        settled = time.time() * 1000 - self.merge_wait_ms

        def blocked(topic: str, arrival: float) -> bool:
            if arrival > settled or has_unread(topic):
                return True
            polled = consumer.polled_at(TP(topic, partition))
            return polled is None or polled <= arrival

        return blocked

    def drain(self, partition: int) -> None:
        """Apply what the merger releases, for at most `DRAIN_BUDGET_S`: the rest stays in the
        merger for the next push or tick, so a backlog cannot hold the event loop (the
        fetcher, the checkpoints, the API) for seconds. Synchronous, so no checkpoint
        interleaves within it."""
        merger = self.mergers.get(partition)
        if merger is None or not len(merger):
            return
        state = self.states[partition]
        pipeline = self.pipelines[partition]
        started = time.monotonic()
        now = time.time()
        for count, record in enumerate(merger.ready(self.blocked(partition)), 1):
            self._apply(state, pipeline, record, now)
            if not count % DRAIN_CHECK_EVERY and time.monotonic() - started > DRAIN_BUDGET_S:
                return

    def tick(self) -> None:
        """Release what has waited long enough, and let idle partitions follow the global
        stream time."""
        now = time.monotonic()
        for partition in list(self.mergers):
            self.drain(partition)
            if self._idle(partition, now):
                self._follow(partition)

    def stalled(self, now: float | None = None) -> list[tuple[TP, int]]:
        """Input topic-partitions to seek back, with the offset: they hold records this worker
        needs (`has_unread`), and nothing of them arrived for `STALL_S` while the consumer
        kept polling them. A fetch position moved past records never applied, with nothing
        after them to fetch, would otherwise leave them unread for good (`resume_at` only
        sees a batch that comes)."""
        now = time.monotonic() if now is None else now
        consumer = cast(BatchingConsumer, self.app.consumer)
        found: list[tuple[TP, int]] = []
        for partition, state in self.states.items():
            has_unread = self.has_unread(partition)
            for topic in self.input_names:
                tp = TP(topic, partition)
                if tp in self.paused:
                    continue
                if now - self._last_batch.get(tp, now) < STALL_S or not has_unread(topic):
                    continue
                polled = consumer.polled_at(tp)
                if polled is None or time.time() - polled / 1000 > ANSWER_GAP_S:
                    continue  # not being fetched now (an outage, a full channel)
                needed = self._next_needed(tp, state)
                self._last_batch[tp] = now
                log.info(
                    "partition %d: %s has records from offset %d not received for %.0f s: "
                    "seeking back", partition, topic, needed, STALL_S,
                )  # fmt: skip
                found.append((tp, needed))
        return found

    def _idle(self, partition: int, now: float) -> bool:
        """Applied all its input, and nothing arrived for `idle_ms` while the broker kept
        answering for every topic of the partition: a worker cut off from the broker (an
        outage) cannot know that nothing came, so that time does not count (DECISIONS 42)."""
        merger = self.mergers.get(partition)
        if merger is None or len(merger) or partition not in self.global_time:
            return False
        last = max(self._last_batch.get(TP(t, partition), now) for t in self.input_names)
        if now - last < self.idle_s:
            return False
        has_unread = self.has_unread(partition)
        if any(has_unread(topic) for topic in self.input_names):
            return False
        answering_since = max(self._answering_since(TP(t, partition)) for t in self.input_names)
        return time.time() - answering_since >= self.idle_s

    def _answering_since(self, tp: TP) -> float:
        """Since when (wall clock, s) the broker has answered fetches of `tp` without a gap."""
        polled = cast(BatchingConsumer, self.app.consumer).polled_at(tp)
        if polled is None:
            self._answering.pop(tp, None)
            return time.time()
        seen = polled / 1000
        since, last = self._answering.get(tp, (seen, seen))
        if seen - last > ANSWER_GAP_S:
            since = seen
        self._answering[tp] = (since, seen)
        return since

    def _follow(self, partition: int) -> None:
        state = self.states[partition]
        target = self.global_time[partition]
        now = state.engine.stream_time
        if now is not None and target <= now:
            return
        log.info("partition %d: idle, follows the global stream time", partition)
        self._took(state, state.engine.advance_to(target))
        state.unsaved += 1  # the advance changed the state: the next checkpoint keeps it

    def _apply(self, state: PartitionState, pipeline: Pipeline, record: Any, now: float) -> None:
        """One released record; `now` (wall clock, s) dates its latency."""
        topic, offset = record.topic, record.offset
        if state.already_applied(topic, offset):
            return
        raw = record.value if isinstance(record.value, bytes) else b""
        outcome = pipeline.message(topic, raw, record.timestamp)
        if outcome.event_id is not None:
            self.last_event_ids[state.partition] = outcome.event_id
        state.applied(topic, offset, outcome.account_id)
        rejection = outcome.rejection
        self.telemetry.count(
            None if rejection is None else rejection.type,
            duplicate=outcome.status is Status.DUPLICATE,
            latency_s=now - record.timestamp / 1000,
        )
        if rejection is not None:
            self.outputs.dead_letter(
                rejection, raw, topic=topic, partition=state.partition, offset=offset,
                key=record.key,
            )  # fmt: skip
        self._took(state, outcome)

    def _took(self, state: PartitionState, outcome: Outcome) -> None:
        """The accounts an outcome changed beyond its own, and the alerts it raised."""
        dirty = state.dirty_accounts
        for change in outcome.movements:
            dirty.add(change.account_id)
        if outcome.alerts:
            dirty.update(a.account_id for a in outcome.alerts if a.account_id != GLOBAL)
            self.outputs.alerts(outcome.alerts, state.partition)
