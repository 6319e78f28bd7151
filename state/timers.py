"""Time-driven changes (cancellations, lapses, usage checks), due when stream time reaches them.

A min-heap by (effect time, creation order). Entries are not removed when a
schedule is withdrawn or replaced: the engine checks at firing time that the
entry still matches the account's state (lazy deletion keeps scheduling O(log n)).
Each account's pending entries are also kept with it (`of_account`), so a checkpoint
writes them with the account and a restore rebuilds the same heap.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from enum import IntEnum


class TimerKind(IntEnum):
    CANCELLATION = 0
    LAPSE = 1
    USAGE = 2
    """Check for `usage_drop` (an account without activity for the configured days)."""


Timer = tuple[int, int, TimerKind, str]


class TimerQueue:
    __slots__ = ("_pending", "heap", "seq")

    def __init__(self) -> None:
        self.heap: list[Timer] = []
        """Min-heap; `heap[0][0]` is the next effect time (read it to skip `next_due`)."""
        self.seq = 0
        self._pending: dict[str, list[Timer]] = {}

    def __len__(self) -> int:
        return len(self.heap)

    def schedule(self, at: int, kind: TimerKind, account_id: str) -> None:
        self.seq += 1
        timer = (at, self.seq, kind, account_id)
        heapq.heappush(self.heap, timer)
        self._pending.setdefault(account_id, []).append(timer)

    def next_due(self, now: int) -> Timer | None:
        heap = self.heap
        if heap and heap[0][0] <= now:
            timer = heapq.heappop(heap)
            pending = self._pending[timer[3]]
            pending.remove(timer)
            if not pending:
                del self._pending[timer[3]]
            return timer
        return None

    def of_account(self, account_id: str) -> list[Timer]:
        """The account's entries still in the heap, in scheduling order."""
        return self._pending.get(account_id, [])

    def restore(self, timers: Iterable[Timer], seq: int) -> None:
        self.heap = sorted(timers)
        self.seq = seq
        self._pending = {}
        for timer in sorted(self.heap, key=lambda t: t[1]):
            self._pending.setdefault(timer[3], []).append(timer)
