"""Writes the months and cohorts tables to Redis at an emit of the aggregating worker."""

from __future__ import annotations

from agents.serving.redis_view import RedisView
from agents.serving.tables import table_rows
from state.aggregate import Aggregator


class TableWriter:
    """`growth:months` and `growth:cohorts`, each written again only when its JSON changed
    since the last write in this Redis epoch (a new epoch: Redis may have lost them)."""

    def __init__(self, redis: RedisView) -> None:
        self.redis = redis
        self.written: dict[str, bytes] = {}
        self.epoch: int | None = None

    async def write(self, aggregator: Aggregator, *, changed: bool) -> None:
        if self.epoch != self.redis.epoch:
            self.epoch = self.redis.epoch
            self.written.clear()
        if not changed and self.written:
            return
        tables = {
            "months": table_rows(aggregator.months()),
            "cohorts": table_rows(aggregator.cohorts()),
        }
        fresh = {name: text for name, text in tables.items() if self.written.get(name) != text}
        if fresh and await self.redis.write_tables(fresh):
            self.written.update(fresh)
