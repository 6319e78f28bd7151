"""Checkpoints, then commits: the order that makes a crash lose nothing and count nothing twice.

Every `checkpoint_interval_ms` each partition with unsaved input writes its
checkpoint (agents/worker/checkpoints.py) to the changelog; the producer is flushed;
the records the broker acknowledged go to the local store, and only then is the
store's changelog offset moved past them, so the local store is always a prefix of
the changelog (a restart reads the rest back). Every output is confirmed delivered
(the dead letters and alerts those inputs caused included); only then are the
covered input offsets committed. A partition whose changelog records were not all
acknowledged commits nothing and writes all of its state, under a new term, at the
next checkpoint.
The accounts the checkpointed input touched are written to the read model afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, cast

import faust
from aiokafka import AIOKafkaProducer
from faust.types import TP

from agents.serving.redis_view import RedisView
from agents.serving.telemetry import Telemetry
from agents.worker.checkpoints import PartitionState, write_checkpoint
from agents.worker.faust_compat import BatchingConsumer, kafka_producer, mark_persisted
from agents.worker.outputs import Outputs
from agents.worker.partitions import Partitions
from agents.worker.table_store import PartitionStore
from models.outputs import AccountView
from state.projection import account_view

log = logging.getLogger("growthstream.checkpoints")
ACK_TIMEOUT_S: Final = 30.0


@dataclass(slots=True)
class _Sent:
    """One partition's checkpoint on its way to the changelog."""

    state: PartitionState
    positions: dict[TP, int] = field(default_factory=dict)
    records: list[tuple[bytes, bytes | None]] = field(default_factory=list)
    batches: list[tuple[asyncio.Future[Any], int]] = field(default_factory=list)
    """(delivery future, records in it) of each record batch sent so far, in order."""
    seconds: float = 0.0

    def acknowledged(self) -> bool:
        """Every record was sent and the broker acknowledged every batch."""
        return sum(count for _, count in self.batches) == len(self.records) and all(
            f.done() and not f.cancelled() and f.exception() is None for f, _ in self.batches
        )


async def send_in_batches(
    producer: AIOKafkaProducer,
    topic: str,
    partition: int,
    records: Sequence[tuple[bytes, bytes | None]],
    into: list[tuple[asyncio.Future[Any], int]],
) -> None:
    """Send `records` in order to one partition as record batches of the producer's batch
    size, appending (delivery future, records in it) of each batch to `into` as it goes (a
    send that fails midway leaves the batches already sent there)."""
    batch, count = producer.create_batch(), 0
    for key, value in records:
        if batch.append(timestamp=None, key=key, value=value) is None:
            into.append((await producer.send_batch(batch, topic, partition=partition), count))
            batch, count = producer.create_batch(), 0
            batch.append(timestamp=None, key=key, value=value)  # a first record always fits
        count += 1
    if count:
        into.append((await producer.send_batch(batch, topic, partition=partition), count))


def last_offset(batches: Sequence[tuple[asyncio.Future[Any], int]]) -> int:
    """The offset of the last record of acknowledged `batches`: the last batch's base offset
    (what its future gives) plus its count, less one."""
    future, count = batches[-1]
    return int(future.result().offset) + count - 1


class Checkpointer:
    def __init__(
        self,
        app: faust.App,
        partitions: Partitions,
        checkpoints: Any,
        outputs: Outputs,
        redis: RedisView,
        telemetry: Telemetry,
    ) -> None:
        self.app = app
        self.telemetry = telemetry
        self.partitions = partitions
        self.checkpoints = checkpoints
        self.outputs = outputs
        self.redis = redis
        self.accounts_epoch: int | None = None
        """The Redis epoch in which every account was last written (None: never)."""

    async def checkpoint_all(self) -> None:
        """Checkpoint changed partitions, flush (dead letters too), then commit their offsets."""
        dirty: list[tuple[PartitionState, set[str]]] = []
        sent: list[_Sent] = []
        try:
            await self._send_checkpoints(sent, dirty)
            await self.app.producer.flush()
            pending = [f for one in sent for f, _ in one.batches if not f.done()]
            if pending:  # a flush that gave up early (the broker gone): wait for the outcome
                await asyncio.wait(pending, timeout=ACK_TIMEOUT_S)
        finally:
            offsets = self._settle_checkpoints(sent)
        delivered = await self.outputs.settle()
        if offsets and delivered:
            await cast(BatchingConsumer, self.app.consumer).commit_offsets(offsets)
        await self.redis.check_restart()
        await self.outputs.write_alerts()
        epoch = self.redis.epoch
        if self.accounts_epoch != epoch:
            everything = {
                account_id: view
                for state in self.partitions.states.values()
                for account_id in state.engine.ledger.accounts
                if (view := account_view(state.engine, account_id)) is not None
            }
            if await self.redis.write_accounts(everything) and self.redis.epoch == epoch:
                self.accounts_epoch = epoch
        else:
            await self.redis.write_accounts(self._views(dirty))

    async def _send_checkpoints(
        self, sent: list[_Sent], dirty: list[tuple[PartitionState, set[str]]]
    ) -> None:
        changelog = self.checkpoints.changelog_topic.get_topic_name()
        producer = kafka_producer(self.app)
        for partition, state in list(self.partitions.states.items()):
            if not state.unsaved and not state.outbox and not state.write_all:
                continue
            started = time.perf_counter()
            one = _Sent(state)

            def collect(key: bytes, value: bytes | None, into: _Sent = one) -> None:
                into.records.append((key, value))

            # a timer can change an account's row (a subscription's scheduled end) without
            # a movement: every account the checkpoint writes is written to Redis too
            touched = set(state.engine.touched)
            covered = write_checkpoint(state, collect, self.outputs.outbox(partition))
            one.positions = {TP(t, partition): o for t, o in covered.items()}
            sent.append(one)
            dirty.append((state, state.dirty_accounts | touched))
            state.dirty_accounts = set()
            await send_in_batches(producer, changelog, partition, one.records, one.batches)
            one.seconds = time.perf_counter() - started

    def _settle_checkpoints(self, sent: list[_Sent]) -> dict[TP, int]:
        """Store the acknowledged checkpoints locally and return the offsets they cover; a
        partition with a record not acknowledged (or not even sent) begins a new term."""
        offsets: dict[TP, int] = {}
        for one in sent:
            state, written = one.state, one.records
            if one.acknowledged():
                started = time.perf_counter()
                PartitionStore(self.checkpoints.data, state.partition).write_many(written)
                if one.batches:
                    mark_persisted(self.checkpoints, state.partition, last_offset(one.batches))
                offsets |= one.positions
                size = sum(len(k) + (0 if v is None else len(v)) for k, v in written)
                seconds = one.seconds + time.perf_counter() - started
                self.telemetry.checkpointed(len(written), size, seconds)
            else:
                log.warning("partition %d: checkpoint not acknowledged by the broker; "
                            "its offsets stay uncommitted, the next one writes everything "
                            "under a new term", state.partition)  # fmt: skip
                local = PartitionStore(self.checkpoints.data, state.partition)
                state.begin_term([*(key for key, _ in local.items()), *(k for k, _ in written)])
        return offsets

    def _views(self, dirty: list[tuple[PartitionState, set[str]]]) -> dict[str, AccountView]:
        """The rows of the accounts the checkpointed input touched, as the engines hold them
        now; only of partitions still assigned here (a partition that moved meanwhile is
        written by its new owner: an old view must not overwrite a newer one)."""
        held = set(map(id, self.partitions.states.values()))
        return {
            account_id: view
            for state, account_ids in dirty
            if id(state) in held
            for account_id in account_ids
            if (view := account_view(state.engine, account_id)) is not None
        }

    def rewrite_accounts(self) -> None:
        """Write every account at the next checkpoint (a partition was restored)."""
        self.accounts_epoch = None
