"""Checkpoints, then commits: the order that makes a crash lose nothing and count nothing twice.

Every `checkpoint_interval_ms` each partition with unsaved input writes its
checkpoint (agents/worker/checkpoints.py) to its local store and the changelog;
the producer is flushed (the dead letters and alerts those inputs caused
included); only then are the covered input offsets committed. The accounts the
checkpointed input touched are written to the read model afterwards.
"""

from __future__ import annotations

from typing import Any, cast

import faust
from faust.types import TP

from agents.serving.redis_view import RedisView
from agents.worker.checkpoints import write_checkpoint
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
    ) -> None:
        self.app = app
        self.partitions = partitions
        self.checkpoints = checkpoints
        self.outputs = outputs
        self.redis = redis

    async def checkpoint_all(self) -> None:
        """Checkpoint changed partitions, flush (dead letters too), then commit their offsets."""
        offsets: dict[TP, int] = {}
        accounts: dict[str, AccountView] = {}
        for partition, state in list(self.partitions.states.items()):
            if not state.unsaved:
                continue

            def write(key: bytes, value: bytes | None, partition: int = partition) -> None:
                PartitionStore(self.checkpoints.data, partition).write(key, value)
                self.checkpoints.send_changelog(partition, key, value)

            for topic, offset in write_checkpoint(state, write).items():
                offsets[TP(topic, partition)] = offset
            for account_id in state.dirty_accounts:
                view = account_view(state.engine, account_id)
                if view is not None:
                    accounts[account_id] = view
            state.dirty_accounts.clear()
        if offsets:
            await self.app.producer.flush()
            await cast(BatchingConsumer, self.app.consumer).commit_offsets(offsets)
        await self.outputs.write_alerts()
        if self.redis.needs_full_write:
            everything = {
                account_id: view
                for state in self.partitions.states.values()
                for account_id in state.engine.ledger.accounts
                if (view := account_view(state.engine, account_id)) is not None
            }
            self.redis.needs_full_write = not await self.redis.write_accounts(everything)
        elif accounts:
            await self.redis.write_accounts(accounts)
