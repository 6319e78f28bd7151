"""Input records in batches: Faust's consumer, without its per-message machinery.

Faust hands every fetched record to the streams one at a time: a `Message`, two
tasks and an `asyncio.wait` per record (`Consumer._drain_messages`), the
conductor's lock and queue, then the stream's event and sensors. Measured on
the 2-core CI machine with an agent that does nothing at all, that path
carries 13.8k records/s (bench/README-worker.md), a third of the worker's
target before any work is done.

`BatchingConsumer` keeps everything else Faust does (the consumer group and its
rebalances, flow control, seeking to committed offsets, the changelogged
tables, the other topics' per-message delivery) and changes one thing: records
of the topics registered with `deliver_in_batches` leave each fetch as one
`RecordBatch` per topic-partition, handed to that topic's channel and so to
its agent. Their offsets are committed explicitly (`commit_offsets`), after the
checkpoint that covers them is durable (agents/partition.py), instead of
through Faust's per-message acks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, cast

import faust
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP
from mode import Service


@dataclass(slots=True, frozen=True)
class RecordBatch:
    """Consecutive records of one topic-partition, from one fetch of one consumer generation."""

    tp: TP
    records: Sequence[Any]
    """aiokafka `ConsumerRecord`s: `.offset`, `.timestamp` (ms), `.key`, `.value` (bytes)."""
    generation_id: int


class BatchingConsumer(aiokafka_driver.Consumer):
    async def commit_offsets(self, offsets: Mapping[TP, int]) -> bool:
        """Commit next-to-read offsets of batch-delivered partitions still assigned to us."""
        return await self._commit_offsets(offsets)

    async def _drain_messages(self, fetcher: faust.types.ServiceT) -> None:  # pragma: no cover
        sinks = cast(GrowthApp, self.app).batch_sinks
        callback = self.callback
        consumer_should_stop = cast(Service, self)._stopped.is_set
        fetcher_should_stop = cast(Service, fetcher)._stopped.is_set
        read_offset = self._read_offset
        acks_enabled_for = self.app.topics.acks_enabled_for
        suspend_flow = self.suspend_flow
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                records, active = await self._wait_next_records(1.0)
                await asyncio.sleep(0)
                if records is None or self.should_stop:
                    continue
                if not self.flow_active:
                    await self.perform_seek()
                    continue
                generation_id = self.app.consumer_generation_id
                allowed = None if active is None else active | self._buffered_partitions
                for tp, batch in records.items():
                    if not batch or not self.flow_active:
                        continue
                    if self.app.consumer_generation_id != generation_id:
                        break
                    if allowed is not None and tp not in allowed:
                        continue
                    sink = sinks.get(tp.topic)
                    if sink is not None:
                        last = batch[-1].offset
                        floor = read_offset[tp]
                        if floor is not None and batch[0].offset < floor:
                            batch = [r for r in batch if r.offset >= floor]
                            if not batch:
                                continue
                        self.app.monitor.track_tp_end_offset(tp, self.highwater(tp))
                        await sink.send(value=RecordBatch(tp, batch, generation_id))
                        read_offset[tp] = last
                        continue
                    await self._deliver_one_by_one(
                        tp, batch, callback, acks_enabled_for, suspend_flow
                    )
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

    async def _deliver_one_by_one(
        self,
        tp: TP,
        batch: Sequence[Any],
        callback: Any,
        acks_enabled_for: Callable[[str], bool],
        suspend_flow: Any,
    ) -> None:
        """Faust's own per-message path, for the topics that are not batch-delivered."""
        read_offset = self._read_offset
        for record in batch:
            if not self.flow_active:
                return
            offset = record.offset
            r_offset = read_offset[tp]
            if r_offset is not None and offset < r_offset:
                continue
            if r_offset and offset - r_offset > 1 and acks_enabled_for(tp.topic):
                await self._add_gap(tp, r_offset + 1, offset)
            message = self._to_message(tp, record)
            if suspend_flow.is_set():
                await self.wait_first(callback(message), suspend_flow.wait())
            else:
                await callback(message)
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
        return BatchingTransport(self.conf.broker_consumer, self)
