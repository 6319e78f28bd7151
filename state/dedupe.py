"""The `event_id`s applied recently, in bounded memory.

An id can be forgotten once every event of its day is older than `W - L`: a copy
of such an event would be dead-lettered as late before the duplicate check.
Ids expire in arrival order; an out-of-order id that arrived after younger ones
is kept a little longer than needed, which is harmless (its copies are late).
"""

from __future__ import annotations

from collections import deque


class SeenIds:
    __slots__ = ("arrivals", "day_of_id")

    def __init__(self) -> None:
        self.day_of_id: dict[str, int] = {}
        """event_id -> its event's day."""
        self.arrivals: deque[str] = deque()
        """Ids in arrival order, for expiry; the engine appends inline (hot path)."""

    def __len__(self) -> int:
        return len(self.day_of_id)

    def add(self, event_id: str, day: int) -> bool:
        """True when the id is new (and is now remembered)."""
        if event_id in self.day_of_id:
            return False
        self.day_of_id[event_id] = day
        self.arrivals.append(event_id)
        return True

    def forget_days_before(self, day: int) -> None:
        arrivals, day_of_id = self.arrivals, self.day_of_id
        while arrivals and day_of_id[arrivals[0]] < day:
            del day_of_id[arrivals.popleft()]
