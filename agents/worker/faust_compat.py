"""The one door into Faust's (and aiokafka's) internals.

Everything else in growthstream uses Faust's public API. What Faust does not
offer is done here, each access with the upstream code it mirrors, against
faust-streaming 0.15 (pinned `<0.16` in pyproject.toml; tests/agents/worker/
test_faust_compat.py exercises every function here):

- Input records in batches. Faust hands every fetched record to the streams one at
  a time: a `Message`, two tasks and an `asyncio.wait` per record
  (`faust.transport.consumer.Consumer._drain_messages`), then the conductor and the
  stream. With an agent that does nothing that path carried 13.8k records/s here
  (bench/README-worker.md). `BatchingConsumer` keeps everything else (group,
  rebalances, flow control, seeks, tables, the other topics' per-message delivery)
  and sends the records of the topics registered with `deliver_in_batches` as one
  `RecordBatch` per topic-partition and fetch, to that topic's channel. Their
  offsets are committed explicitly (`commit_offsets`) after the checkpoint that
  covers them is durable, not through Faust's per-message acks.
- Partitions held back (`hold_back`): paused through Faust's public API, but what was
  fetched before the pause is still handed on (Faust's loop would drop it).
- Seeks counted per topic-partition (`seek`, `perform_seek`), so a batch handed on before
  a seek of its partition is known to be overtaken: the worker seeks an input partition
  back to its checkpoint when the fetch position does not follow it (agents/worker/app.py).
  A seek runs on the aiokafka consumer's own thread (`_seek`): Faust's runs it on the
  caller's, racing that thread's reading of the fetched records.
- One partition's database of a table store: Faust's table API takes the partition
  from the current event, which a timer or a batch agent does not have.
- A table's persisted changelog offset, set only once a checkpoint's records are in
  the local store too: Faust sets it as each changelog record is acknowledged
  (`faust.tables.base.Collection._on_changelog_sent`, the callback `send_changelog`
  passes), and a restart reads the changelog back only from there, so a record
  acknowledged but not yet stored locally would be lost to that worker. The records
  themselves go out as record batches through aiokafka's public batch API
  (`create_batch`, `send_batch`) on the producer behind `app.producer`: one future
  per batch instead of a Faust `send` and an aiokafka future per record, and not
  `send_changelog`, whose buffer publishes one message at a time.
- The aiohttp application behind Faust's web server, for one middleware.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import faust
from aiokafka import AIOKafkaProducer
from aiokafka.errors import IllegalStateError
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP
from mode import Service


async def _aiokafka_seek(
    thread: aiokafka_driver.AIOKafkaConsumerThread, tp: TP, offset: int
) -> None:
    """`AIOKafkaConsumerThread.seek`, run on that thread's event loop by `call_thread`."""
    thread.seek(tp, offset)


@dataclass(slots=True, frozen=True)
class RecordBatch:
    """Consecutive records of one topic-partition, from one fetch of one consumer generation."""

    tp: TP
    records: Sequence[Any]
    """aiokafka `ConsumerRecord`s: `.offset`, `.timestamp` (ms), `.key`, `.value` (bytes)."""
    generation_id: int
    rebalances: int
    """`app.rebalancing_count` when it was handed on: a batch that a rebalance has overtaken
    is never applied (the rebalance seeks back to the committed offsets)."""
    seeks: int
    """How often `tp` had been sought when it was handed on: a batch that a later seek of its
    partition has overtaken is never applied (the seek fetches from elsewhere)."""


class BatchingConsumer(aiokafka_driver.Consumer):
    _seeks: dict[TP, int] | None = None
    _held_back: AbstractSet[TP] = frozenset()

    def hold_back(
        self, pause: Iterable[TP], resume: Iterable[TP], held_back: AbstractSet[TP]
    ) -> None:
        """Stop fetching `pause`, fetch `resume` again (Faust's public `pause_partitions` and
        `resume_partitions`); `held_back` is the caller's set of the partitions it holds back
        now, kept by reference. A fetch taken in before a partition is held back is still
        handed on whole: Faust's loop drops a fetched record of a partition no longer
        active, and the fetch position has already moved past it."""
        self._held_back = held_back
        if pause:
            self.pause_partitions(pause)
        if resume:
            self.resume_partitions(resume)

    def seeks(self, tp: TP) -> int:
        """How often `tp` has been sought (by `seek`, or every partition by `perform_seek`)."""
        return 0 if self._seeks is None else self._seeks.get(tp, 0)

    def _sought(self, tps: Iterable[TP]) -> None:
        if self._seeks is None:
            self._seeks = {}
        for tp in tps:
            self._seeks[tp] = self._seeks.get(tp, 0) + 1

    async def seek(self, partition: TP, offset: int) -> None:
        """`Consumer.seek` (the fetch position and `_read_offset`), counted before and after:
        what is handed on while it runs may come from either side of it."""
        self._sought([partition])
        await super().seek(partition, offset)
        self._sought([partition])

    async def _seek(self, partition: TP, offset: int) -> None:
        """Mirrors `ThreadDelegateConsumer._seek` (faust/transport/consumer.py), which calls
        `AIOKafkaConsumerThread.seek` from the event loop's thread: aiokafka's `seek` drops
        the partition's fetched records (`Fetcher.seek_to`) while the consumer's own thread
        may be reading them (`Fetcher.fetched_records` looks each partition up after listing
        them), and a KeyError there stopped a worker that a stall seek raced. So the seek
        runs on the consumer's thread, through `call_thread`, as Faust's own `seek_wait`
        does."""
        thread = self._thread
        await thread.call_thread(_aiokafka_seek, thread, partition, offset)

    async def perform_seek(self) -> None:
        """`Consumer.perform_seek` (every assigned partition to its committed offset), counted
        like `seek`."""
        assigned = self.assignment()
        self._sought(assigned)
        await super().perform_seek()
        self._sought(assigned | self.assignment())

    async def commit_offsets(self, offsets: Mapping[TP, int]) -> bool:
        """Commit next-to-read offsets of batch-delivered partitions still assigned to us.

        Mirrors `Consumer.commit` -> `Consumer._commit_offsets`, which drops the
        partitions no longer assigned (they will be processed again elsewhere)."""
        return await self._commit_offsets(offsets)

    def read_offset(self, tp: TP) -> int | None:
        """The last offset handed on for `tp` (`Consumer._read_offset`, which Faust's
        fetcher keeps and `perform_seek` resets to the committed offset)."""
        offset: int | None = self._read_offset[tp]
        return offset

    def polled_at(self, tp: TP) -> int | None:
        """When (ms, wall clock) the last fetch response for `tp` was taken in: the time its
        `highwater` holds for. Mirrors `Consumer.highwater`'s reach into the aiokafka consumer
        of its thread (`AIOKafkaConsumerThread._ensure_consumer`), whose
        `last_poll_timestamp` is aiokafka's public API; None before the first fetch."""
        thread = getattr(self, "_thread", None)
        if thread is None or thread._consumer is None:
            return None
        try:
            stamp: int | None = thread._consumer.last_poll_timestamp(tp)
        except (KeyError, AssertionError, AttributeError, IllegalStateError):
            return None  # not (or no longer) assigned
        return stamp

    async def _drain_messages(self, fetcher: faust.types.ServiceT) -> None:
        """Mirrors `faust.transport.consumer.Consumer._drain_messages` and `getmany`: the
        same stop conditions (`Service._stopped` of consumer and fetcher), flow control
        (`flow_active`, `perform_seek`), generation checks and read offsets
        (`_read_offset`), and `_wait_next_records` with its active partitions plus
        `_buffered_partitions`; batch-delivered topics skip the per-record messages."""
        sinks = cast(GrowthApp, self.app).batch_sinks
        consumer_should_stop = cast(Service, self)._stopped.is_set
        fetcher_should_stop = cast(Service, fetcher)._stopped.is_set
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                records, active = await self._wait_next_records(1.0)
                await asyncio.sleep(0)
                if records is None or self.should_stop:
                    continue
                if not self.flow_active:
                    await self.perform_seek()
                    continue
                await self._hand_on(records, active, sinks)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise

    async def _hand_on(
        self,
        records: Mapping[TP, Sequence[Any]],
        active: set[TP] | None,
        sinks: Mapping[str, faust.ChannelT[RecordBatch]],
    ) -> None:
        """One fetch: batches to their channels, everything else one message at a time, and
        that first: the other topics (the partials, the clock) carry a few records a second,
        and behind a catch-up's batches, whose channels fill and wait for the agents to
        apply them, they would wait too (Faust hands on a fetch in the fetcher's order).

        A read offset is set only while no rebalance has begun since this fetch was handed
        on: `sink.send` may wait (a full channel) while a rebalance seeks every partition
        back to its committed offset, and a read offset set after that seek would make the
        fetcher drop the records it fetches again (Faust's own loop sets it after its await
        all the same)."""
        generation_id = self.app.consumer_generation_id
        rebalances = self.app.rebalancing_count
        allowed = None if active is None else active | self._buffered_partitions
        if allowed is not None and self._held_back:
            allowed |= self._held_back
        read_offset = self._read_offset
        for tp, batch in sorted(records.items(), key=lambda item: item[0].topic in sinks):
            if not batch or not self.flow_active:
                continue
            if self._overtaken(generation_id, rebalances):
                break
            if allowed is not None and tp not in allowed:
                continue
            sink = sinks.get(tp.topic)
            if sink is None:
                await self._deliver_one_by_one(tp, batch)
                continue
            last = batch[-1].offset
            floor = read_offset[tp]
            if floor is not None and batch[0].offset < floor:
                batch = [r for r in batch if r.offset >= floor]
                if not batch:
                    continue
            self.app.monitor.track_tp_end_offset(tp, self.highwater(tp))
            seeks = self.seeks(tp)
            await sink.send(value=RecordBatch(tp, batch, generation_id, rebalances, seeks))
            if self._overtaken(generation_id, rebalances):
                break
            if self.seeks(tp) == seeks:
                read_offset[tp] = last

    def _overtaken(self, generation_id: int, rebalances: int) -> bool:
        """Has a rebalance begun (or the flow stopped) since a fetch was handed on?"""
        app = self.app
        return (
            app.consumer_generation_id != generation_id
            or app.rebalancing_count != rebalances
            or not self.flow_active
        )

    async def _deliver_one_by_one(self, tp: TP, batch: Sequence[Any]) -> None:
        """Faust's own per-message path (`_drain_messages`' inner loop: gaps through
        `_add_gap`, `_to_message`, `wait_first` against `suspend_flow`)."""
        read_offset = self._read_offset
        callback = self.callback
        acks_enabled_for: Callable[[str], bool] = self.app.topics.acks_enabled_for
        generation_id, rebalances = self.app.consumer_generation_id, self.app.rebalancing_count
        for record in batch:
            if self._overtaken(generation_id, rebalances):
                return
            offset = record.offset
            r_offset = read_offset[tp]
            if r_offset is not None and offset < r_offset:
                continue
            if r_offset and offset - r_offset > 1 and acks_enabled_for(tp.topic):
                await self._add_gap(tp, r_offset + 1, offset)
            message = self._to_message(tp, record)
            if self.suspend_flow.is_set():
                await self.wait_first(callback(message), self.suspend_flow.wait())
            else:
                await callback(message)
            if self._overtaken(generation_id, rebalances):
                return
            read_offset[tp] = offset


class BatchingTransport(aiokafka_driver.Transport):
    Consumer: ClassVar[type[Any]] = BatchingConsumer


class GrowthApp(faust.App):
    """A Faust app whose Kafka consumer can deliver chosen topics in batches."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.batch_sinks: dict[str, faust.ChannelT[RecordBatch]] = {}
        super().__init__(*args, **kwargs)

    def deliver_in_batches(self, topic: str, channel: faust.ChannelT[RecordBatch]) -> None:
        """Send this topic's records to `channel` as `RecordBatch`es; their offsets are
        committed only through `BatchingConsumer.commit_offsets`."""
        self.batch_sinks[topic] = channel

    def _new_transport(self) -> Any:
        """Mirrors `faust.App._new_transport` with our transport class."""
        return BatchingTransport(self.conf.broker_consumer, self)


def partition_db(store: Any, partition: int) -> Any | None:
    """The rocksdict database of one partition of a rocksdb table store, or None for the
    memory store (`faust.stores.rocksdb.Store._db_for_partition`)."""
    if hasattr(store, "_db_for_partition"):
        return store._db_for_partition(partition)
    return None


def mark_persisted(table: Any, partition: int, offset: int) -> None:
    """What `send_changelog`'s callback does for an acknowledged record: the local store holds
    the changelog partition up to `offset` (`Collection._on_changelog_sent`, at least once)."""
    table.data.set_persisted_offset(TP(table.changelog_topic.get_topic_name(), partition), offset)


def kafka_producer(app: faust.App) -> AIOKafkaProducer:
    """The aiokafka producer behind `app.producer` once that started (before: `NotReady`):
    what `faust.transport.drivers.aiokafka.Producer.send` sends through (`_ensure_producer`)."""
    return cast(AIOKafkaProducer, app.producer._ensure_producer())  # type: ignore[attr-defined]


def add_middleware(app: faust.App, middleware: Any) -> None:
    """An aiohttp middleware on the worker's web server (`faust.web.drivers.aiohttp.Web`
    keeps its `aiohttp.web.Application` as `web_app`)."""
    app.web.web_app.middlewares.append(middleware)  # type: ignore[attr-defined]
