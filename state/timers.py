"""Time-driven changes (cancellations, lapses, usage checks), due when stream time reaches them.

A min-heap by (effect time, creation order). Entries are not removed when a
schedule is withdrawn or replaced: the engine checks at firing time that the
entry still matches the account's state (lazy deletion keeps scheduling O(log n)).
"""

from __future__ import annotations

import heapq
from enum import IntEnum


class TimerKind(IntEnum):
    CANCELLATION = 0
    LAPSE = 1
    USAGE = 2
    """Check for `usage_drop` (an account without activity for the configured days)."""


Timer = tuple[int, int, TimerKind, str]


class TimerQueue:
    __slots__ = ("heap", "seq")

    def __init__(self) -> None:
        self.heap: list[Timer] = []
        """Min-heap; `heap[0][0]` is the next effect time (read it to skip `next_due`)."""
        self.seq = 0

    def __len__(self) -> int:
        return len(self.heap)

    def schedule(self, at: int, kind: TimerKind, account_id: str) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (at, self.seq, kind, account_id))

    def next_due(self, now: int) -> Timer | None:
        heap = self.heap
        if heap and heap[0][0] <= now:
            return heapq.heappop(heap)
        return None
