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

For incremental checkpoints the ids are grouped by the checkpoint generation that
first wrote them (`segments`): `take_new(generation)` hands out the ids added since
the last checkpoint as that generation's bucket, and `expired()` the generations all
of whose ids are forgotten (their buckets can be deleted). A restore adds the buckets
in generation order and forgets through the same horizons, which gives the same ids:
both queues drop a prefix in arrival order.
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Iterable
from hashlib import blake2b
from typing import Any, Final

KEY_BITS: Final = 60
CHUNK: Final = 4096
"""Ids per chunk of the activity/survey expiry queue."""


def event_key(account_id: str, event_id: str) -> int:
    """The remembered form of (account_id, event_id)."""
    digest = blake2b(f"{account_id}\x1f{event_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest) >> (64 - KEY_BITS)


class _Segments:
    """How many of a queue's entries, in arrival order, each checkpoint generation wrote
    ([generation, still held, written]); the last one (generation None) holds those not
    yet written."""

    __slots__ = ("expired", "queue")

    def __init__(self) -> None:
        self.queue: deque[list[Any]] = deque([[None, 0, 0]])
        self.expired: list[tuple[int, int]] = []
        """(generation, entries it wrote) of the generations whose entries are all gone."""

    def added(self, count: int = 1) -> None:
        self.queue[-1][1] += count

    def dropped(self, count: int) -> None:
        queue = self.queue
        while count:
            first = queue[0]
            held = first[1]
            if held > count or len(queue) == 1:
                first[1] = held - min(held, count)
                return
            count -= held
            queue.popleft()
            self.expired.append((first[0], first[2]))

    def close(self, generation: int) -> int:
        """Name the unwritten entries as `generation`'s; how many they are."""
        last = self.queue[-1]
        count: int = last[1]
        if count:
            last[0], last[2] = generation, count
            self.queue.append([None, 0, 0])
        return count

    def restored(self, generation: int, count: int) -> None:
        self.queue.insert(len(self.queue) - 1, [generation, count, count])

    def take_expired(self) -> list[tuple[int, int]]:
        gone, self.expired = self.expired, []
        return gone

    def reopen(self) -> None:
        """Every entry unwritten again; the generations that held them are expired."""
        total = 0
        for generation, held, written in self.queue:
            total += held
            if generation is not None:
                self.expired.append((generation, written))
        self.queue = deque([[None, total, 0]])


class SeenIds:
    __slots__ = (
        "_billing_segments", "_volume_queue", "_volume_segments", "billing",
        "billing_arrivals", "volume",
    )  # fmt: skip

    def __init__(self) -> None:
        self.billing: dict[int, int] = {}
        """Billing event key -> its event's day."""
        self.billing_arrivals: deque[int] = deque()
        """Billing keys in arrival order, for expiry."""
        self.volume: set[int] = set()
        """Activity and survey keys still remembered."""
        self._volume_queue: deque[tuple[array[int], array[int]]] = deque()
        """(stream times, keys) chunks in application order, for exact expiry."""
        self._billing_segments = _Segments()
        self._volume_segments = _Segments()

    def __len__(self) -> int:
        return len(self.billing) + len(self.volume)

    def __contains__(self, key: int) -> bool:
        return key in self.volume or key in self.billing

    def add_billing(self, key: int, day: int) -> None:
        self.billing[key] = day
        self.billing_arrivals.append(key)
        self._billing_segments.added()

    def add_volume(self, key: int, applied_at: int) -> None:
        self.volume.add(key)
        queue = self._volume_queue
        if not queue or len(queue[-1][0]) >= CHUNK:
            queue.append((array("q"), array("q")))
        times, keys = queue[-1]
        times.append(applied_at)
        keys.append(key)
        self._volume_segments.added()

    def volume_entries(self) -> list[tuple[int, int]]:
        """(applied at, key) of every remembered activity/survey id, oldest first."""
        return [
            pair for times, keys in self._volume_queue for pair in zip(times, keys, strict=True)
        ]

    def forget_billing_before(self, day: int) -> None:
        arrivals, billing = self.billing_arrivals, self.billing
        dropped = 0
        while arrivals and billing[arrivals[0]] < day:
            del billing[arrivals.popleft()]
            dropped += 1
        if dropped:
            self._billing_segments.dropped(dropped)

    def forget_volume_through(self, moment: int) -> None:
        """Forget the activity/survey ids applied at or before `moment` (W - H)."""
        queue, volume = self._volume_queue, self.volume
        dropped = 0
        while queue:
            times, keys = queue[0]
            if times[-1] <= moment:
                volume.difference_update(keys)
                dropped += len(keys)
                queue.popleft()
                continue
            cut = 0
            while cut < len(times) and times[cut] <= moment:
                cut += 1
            if cut:
                volume.difference_update(keys[:cut])
                del times[:cut]
                del keys[:cut]
                dropped += cut
            break
        if dropped:
            self._volume_segments.dropped(dropped)

    def take_new(self, generation: int) -> tuple[list[list[int]], list[list[int]]]:
        """The ids added since the last call, now `generation`'s: ([[key, day], ...] of
        billing ids, [[applied at, key], ...] of activity/survey ids), oldest first."""
        billing = self._billing_segments.close(generation)
        volume = self._volume_segments.close(generation)
        arrivals = self.billing_arrivals
        new_billing = [
            [key, self.billing[key]]
            for key in (arrivals[i] for i in range(len(arrivals) - billing, len(arrivals)))
        ]
        return new_billing, self._last_volume(volume)

    def _last_volume(self, count: int) -> list[list[int]]:
        out: list[list[int]] = []
        for times, keys in reversed(self._volume_queue):
            if len(out) >= count:
                break
            take = min(count - len(out), len(keys))
            newest = zip(times[len(times) - take :], keys[len(keys) - take :], strict=True)
            out.extend([t, k] for t, k in reversed(list(newest)))
        out.reverse()
        return out

    def rewrite_all(self) -> None:
        """The next `take_new` hands out every id remembered (a checkpoint of everything)."""
        self._billing_segments.reopen()
        self._volume_segments.reopen()

    def take_expired(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(generation, ids it wrote) of the generations whose (billing, activity/survey)
        ids are all forgotten since the last call."""
        return self._billing_segments.take_expired(), self._volume_segments.take_expired()

    def restore_generation(
        self, generation: int, billing: Iterable[list[int]], volume: Iterable[list[int]]
    ) -> None:
        """Add one checkpoint generation's ids (call in generation order, then forget
        through the horizons)."""
        billing_count = volume_count = 0
        for key, day in billing:
            self.add_billing(key, day)
            billing_count += 1
        for applied_at, key in volume:
            self.add_volume(key, applied_at)
            volume_count += 1
        self._billing_segments.added(-billing_count)
        self._volume_segments.added(-volume_count)
        if billing_count:
            self._billing_segments.restored(generation, billing_count)
        if volume_count:
            self._volume_segments.restored(generation, volume_count)
