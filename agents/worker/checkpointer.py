"""Checkpoints, then commits: the order that makes a crash lose nothing and count nothing twice.

Every `checkpoint_interval_ms` each partition with unsaved input writes its
checkpoint (agents/worker/checkpoints.py) to its local store and the changelog;
the producer is flushed and every output is confirmed delivered (the dead letters
and alerts those inputs caused included); only then are the covered input offsets
committed. The accounts the checkpointed input touched are written to the read
model afterwards.
"""

from __future__ import annotations

import time
from typing import Any, cast

import faust
from faust.types import TP

from agents.serving.redis_view import RedisView
from agents.serving.telemetry import Telemetry
from agents.worker.checkpoints import PartitionState, write_checkpoint
from agents.worker.faust_compat import BatchingConsumer
from agents.worker.outputs import Outputs
from agents.worker.partitions import Partitions
from agents.worker.table_store import PartitionStore
from models.outputs import AccountView
from state.projection import account_view


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
        self.telemetry = telemetry
        self.app = app
        self.partitions = partitions
        self.checkpoints = checkpoints
        self.outputs = outputs
        self.redis = redis
        self.accounts_epoch: int | None = None
        """The Redis epoch in which every account was last written (None: never)."""

    async def checkpoint_all(self) -> None:
        """Checkpoint changed partitions, flush (dead letters too), then commit their offsets."""
        offsets: dict[TP, int] = {}
        dirty: list[tuple[PartitionState, set[str]]] = []
        for partition, state in list(self.partitions.states.items()):
            if not state.unsaved and not state.outbox:
                continue

            written = [0, 0]

            def write(
                key: bytes,
                value: bytes | None,
                partition: int = partition,
                counts: list[int] = written,
            ) -> None:
                PartitionStore(self.checkpoints.data, partition).write(key, value)
                self.checkpoints.send_changelog(partition, key, value)
                counts[0] += 1
                counts[1] += len(key) + (0 if value is None else len(value))

            started = time.perf_counter()
            outbox = self.outputs.outbox(partition)
            for topic, offset in write_checkpoint(state, write, outbox).items():
                offsets[TP(topic, partition)] = offset
            self.telemetry.checkpointed(written[0], written[1], time.perf_counter() - started)
            dirty.append((state, state.dirty_accounts))
            state.dirty_accounts = set()
        await self.app.producer.flush()
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
