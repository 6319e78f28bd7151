"""The events applied recently, as compact keys, for METRICS.md "Duplicates".

A duplicate is an event with the `event_id` and `account_id` of one already
applied. The pair is remembered as a 60-bit hash (`event_key`): a Python int of
two digits, no strings kept. Two horizons:

- billing ids (signups, payments, cancellations) are kept by the event's day and
  forgotten once every event of that day is older than `W - L` (a copy would be
  late anyway);
- activity and survey ids, almost all of the volume, are kept until stream time
  has moved `H` hours past the stream time at which they were applied, exactly:
  ids expire in application order, which is stream-time order.

A hash collision would make one event a "duplicate" of another of the same
horizon: with N ids remembered, a new event collides with probability N / 2^60
(10 million remembered ids: 9e-12 per event).
"""

from __future__ import annotations

from array import array
from collections import deque
from hashlib import blake2b
from typing import Final

KEY_BITS: Final = 60
CHUNK: Final = 4096
"""Ids per chunk of the activity/survey expiry queue."""


def event_key(account_id: str, event_id: str) -> int:
    """The remembered form of (account_id, event_id)."""
    digest = blake2b(f"{account_id}\x1f{event_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest) >> (64 - KEY_BITS)


class SeenIds:
    __slots__ = ("_volume_queue", "billing", "billing_arrivals", "volume")

    def __init__(self) -> None:
        self.billing: dict[int, int] = {}
        """Billing event key -> its event's day."""
        self.billing_arrivals: deque[int] = deque()
        """Billing keys in arrival order, for expiry."""
        self.volume: set[int] = set()
        """Activity and survey keys still remembered."""
        self._volume_queue: deque[tuple[array[int], array[int]]] = deque()
        """(stream times, keys) chunks in application order, for exact expiry."""

    def __len__(self) -> int:
        return len(self.billing) + len(self.volume)

    def __contains__(self, key: int) -> bool:
        return key in self.volume or key in self.billing

    def add_billing(self, key: int, day: int) -> None:
        self.billing[key] = day
        self.billing_arrivals.append(key)

    def add_volume(self, key: int, applied_at: int) -> None:
        self.volume.add(key)
        queue = self._volume_queue
        if not queue or len(queue[-1][0]) >= CHUNK:
            queue.append((array("q"), array("q")))
        times, keys = queue[-1]
        times.append(applied_at)
        keys.append(key)

    def volume_entries(self) -> list[tuple[int, int]]:
        """(applied at, key) of every remembered activity/survey id, oldest first."""
        return [
            pair for times, keys in self._volume_queue for pair in zip(times, keys, strict=True)
        ]

    def forget_billing_before(self, day: int) -> None:
        arrivals, billing = self.billing_arrivals, self.billing
        while arrivals and billing[arrivals[0]] < day:
            del billing[arrivals.popleft()]

    def forget_volume_through(self, moment: int) -> None:
        """Forget the activity/survey ids applied at or before `moment` (W - H)."""
        queue, volume = self._volume_queue, self.volume
        while queue:
            times, keys = queue[0]
            if times[-1] <= moment:
                volume.difference_update(keys)
                queue.popleft()
                continue
            cut = 0
            while cut < len(times) and times[cut] <= moment:
                cut += 1
            if cut:
                volume.difference_update(keys[:cut])
                del times[:cut]
                del keys[:cut]
            return
