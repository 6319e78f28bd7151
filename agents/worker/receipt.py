"""How far the aggregator has read the partials partition, for an emit that waits for
what its own publish just sent.

Without it the emit of a change interval aggregates the partials of the interval before
(this publish's records are still on their way through Kafka), so every figure reached
Redis one interval late, and the end of a backlog waited a whole interval more.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any


class PartialsReceipt:
    def __init__(self) -> None:
        self.taken = -1
        """The highest offset of the partials partition fed to the aggregator."""
        self._moved = asyncio.Event()

    def took(self, offset: int) -> None:
        if offset > self.taken:
            self.taken = offset
            self._moved.set()

    async def reached(self, offset: int, timeout: float) -> bool:
        """Wait until the aggregator took `offset`; False if `timeout` seconds pass first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.taken < offset:
            self._moved.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(self._moved.wait(), remaining)
            except TimeoutError:
                return False
        return True

    async def sent_and_taken(self, sends: Sequence[asyncio.Future[Any]], timeout: float) -> bool:
        """Wait until `sends` (futures of partials records) are acknowledged and the
        aggregator took the last of them, within `timeout` seconds in all; False if not."""
        if not sends:
            return True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        done, pending = await asyncio.wait(sends, timeout=timeout)
        if pending:
            return False
        offsets = [f.result().offset for f in done if not f.cancelled() and f.exception() is None]
        if len(offsets) < len(sends):
            return False
        return await self.reached(max(offsets), max(0.0, deadline - loop.time()))
