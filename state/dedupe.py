"""The events applied recently, as compact keys, for METRICS.md "Duplicates".

A duplicate is an event with the `event_id` and `account_id` of one already
applied. The pair is remembered as a 60-bit hash (`event_key`): a Python int of
two digits, no strings kept. Two horizons:

- billing ids (signups, payments, cancellations) are kept by the event's day and
  forgotten once every event of that day is older than `W - L` (a copy would be
  late anyway);
- activity and survey ids, almost all of the volume, are kept until stream time
  has moved `H` hours past the stream time at which they were applied, exactly:
  ids expire in application order, which is stream-time order. They are dropped
  in batches (once the oldest is `H / 64` past its horizon), and a key found among
  them is judged only after the exact horizon has been applied
  (`remembers`), so the batching is invisible: it trades at most 1/64 of the
  horizon's ids of memory for one expiry walk per batch instead of per event.

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

import math
from array import array
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterable
from hashlib import blake2b
from typing import Any, Final

KEY_BITS: Final = 60
BATCH_FRACTION: Final = 64
"""Activity/survey ids are dropped once the oldest is this fraction of `H` past due."""
COMPACT_FRACTION: Final = 8
"""The forgotten prefix of the activity/survey queue is cut off once it is this fraction of
the queue (amortised: each cut moves at most 7 live entries per forgotten one)."""


_EMPTY_HASH: Final = blake2b(digest_size=8)
"""Copied for each key: a copy skips the parsing of blake2b's dozen parameters, and
`copy().update(data)` digests as `blake2b(data, digest_size=8)` does."""


def event_key(
    account_id: str,
    event_id: str,
    _fresh: Callable[[], Any] = _EMPTY_HASH.copy,
    _int: Callable[[bytes], int] = int.from_bytes,
) -> int:
    """The remembered form of (account_id, event_id): the top `KEY_BITS` (60) bits of their
    blake2b (the defaults bind the callables locally). `SeenIds.admit` computes the same
    inline, as it runs once per event."""
    hasher = _fresh()
    hasher.update(f"{account_id}\x1f{event_id}".encode())
    return _int(hasher.digest()) >> 4


class _Segments:
    """How many of a queue's entries, in arrival order, each checkpoint generation wrote
    ([generation, still held, written]); the entries after the last one are not yet
    written. Counted when a checkpoint closes a generation and when entries are dropped,
    never per entry added."""

    __slots__ = ("expired", "held", "queue")

    def __init__(self) -> None:
        self.queue: deque[list[int]] = deque()
        self.held = 0
        """Entries of the written generations still in the queue."""
        self.expired: list[tuple[int, int]] = []
        """(generation, entries it wrote) of the generations whose entries are all gone."""

    def dropped(self, count: int) -> None:
        """The first `count` entries left the queue (written ones first: they are older)."""
        queue = self.queue
        while count and queue:
            first = queue[0]
            take = min(first[1], count)
            first[1] -= take
            self.held -= take
            count -= take
            if not first[1]:
                queue.popleft()
                self.expired.append((first[0], first[2]))

    def close(self, generation: int, total: int) -> int:
        """Name the unwritten entries (of `total` in the queue) as `generation`'s; how many."""
        count = total - self.held
        if count:
            self.queue.append([generation, count, count])
            self.held += count
        return count

    def restored(self, generation: int, held: int, written: int) -> None:
        if held:
            self.queue.append([generation, held, written])
            self.held += held
        else:
            self.expired.append((generation, written))

    def take_expired(self) -> list[tuple[int, int]]:
        gone, self.expired = self.expired, []
        return gone

    def reopen(self) -> None:
        """Every entry unwritten again; the generations that held them are expired."""
        self.expired += [(generation, written) for generation, _, written in self.queue]
        self.queue.clear()
        self.held = 0


class SeenIds:
    __slots__ = (
        "_billing_segments", "_head", "_horizon", "_keys", "_slack", "_times",
        "_volume_segments", "billing", "billing_arrivals", "volume", "volume_forget_at",
    )  # fmt: skip

    def __init__(self, horizon: int = 0) -> None:
        """`horizon`: `H` in µs, how long activity and survey ids are remembered (and so the
        batch size of their expiry)."""
        self._horizon = horizon
        self._slack = horizon // BATCH_FRACTION
        self.billing: dict[int, int] = {}
        """Billing event key -> its event's day."""
        self.billing_arrivals: deque[int] = deque()
        """Billing keys in arrival order, for expiry."""
        self.volume: set[int] = set()
        """Activity and survey keys still remembered."""
        self._times = array("q")
        self._keys: list[int] = []
        """Stream times and keys of the activity/survey ids in application order, from
        `_head` on (the entries before it are forgotten, compacted away in bulk). The keys
        are a list of the very int objects `volume` holds (8 bytes an entry, as an array's,
        without a conversion per append and per expiry); the forgotten prefix keeps its ints
        alive until the compaction, which comes once it is `1/COMPACT_FRACTION` of the
        queue."""
        self._head = 0
        self._billing_segments = _Segments()
        self._volume_segments = _Segments()
        self.volume_forget_at: float = math.inf
        """When the oldest remembered activity/survey id was applied, plus the batch slack
        (inf: none): the engine calls `forget_volume_through` only once the horizon
        (stream time - `H`) has reached it."""

    def __len__(self) -> int:
        return len(self.billing) + len(self.volume)

    def __contains__(self, key: int) -> bool:
        """Held, which may include activity/survey ids past the horizon: see `remembers`."""
        return key in self.volume or key in self.billing

    def remembers(self, key: int, horizon: int) -> bool:
        """Whether `key` is remembered with the activity/survey ids applied at or before
        `horizon` forgotten: the exact judgement behind the batched expiry."""
        if key in self.billing:
            return True
        if key in self.volume:
            self.forget_volume_through(horizon)
            return key in self.volume
        return False

    def admit(
        self,
        account_id: str,
        event_id: str,
        now: int | None,
        volume: bool,
        applied_at: int,
        day: int,
        _fresh: Callable[[], Any] = _EMPTY_HASH.copy,
        _int: Callable[[bytes], int] = int.from_bytes,
    ) -> bool:
        """METRICS.md "Duplicates" for one event at stream time `now` (None: before the first
        one): False when its id is remembered (a duplicate, nothing changes); else True, and
        the id is remembered from here on: an activity or survey id (`volume`) as applied at
        stream time `applied_at`, any other by its event's `day`.

        The check and the add are one call because they run once per event: `event_key`,
        the lookups and the appends inline."""
        hasher = _fresh()
        hasher.update(f"{account_id}\x1f{event_id}".encode())
        key = _int(hasher.digest()) >> 4
        if key in self.billing:
            return False
        if key in self.volume and self.remembers(key, now - self._horizon):  # type: ignore[operator]
            return False
        if volume:
            self.volume.add(key)
            if self.volume_forget_at == math.inf:
                self.volume_forget_at = applied_at + self._slack
            self._times.append(applied_at)
            self._keys.append(key)
        else:
            self.billing[key] = day
            self.billing_arrivals.append(key)
        return True

    def add_billing(self, key: int, day: int) -> None:
        self.billing[key] = day
        self.billing_arrivals.append(key)

    def add_volume(self, key: int, applied_at: int) -> None:
        self.volume.add(key)
        if self.volume_forget_at == math.inf:
            self.volume_forget_at = applied_at + self._slack
        self._times.append(applied_at)
        self._keys.append(key)

    def volume_entries(self, horizon: int | None) -> list[tuple[int, int]]:
        """(applied at, key) of every activity/survey id applied after `horizon` (None: every
        one held), oldest first."""
        head = self._head
        if horizon is not None:
            head = max(head, bisect_right(self._times, horizon, head))
        return list(zip(self._times[head:], self._keys[head:], strict=True))

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
        times, keys, head = self._times, self._keys, self._head
        cut = bisect_right(times, moment, head)
        if cut > head:
            self.volume.difference_update(keys[head:cut])
            self._volume_segments.dropped(cut - head)
            head = cut
            if COMPACT_FRACTION * head >= len(times):
                del times[:head]
                del keys[:head]
                head = 0
            self._head = head
        self.volume_forget_at = times[head] + self._slack if head < len(times) else math.inf

    def take_new(self, generation: int) -> tuple[list[list[int]], list[list[int]]]:
        """The ids added since the last call, now `generation`'s: ([[key, day], ...] of
        billing ids, [[applied at, key], ...] of activity/survey ids), oldest first."""
        billing = self._billing_segments.close(generation, len(self.billing_arrivals))
        volume = self._volume_segments.close(generation, len(self.volume))
        arrivals = self.billing_arrivals
        new_billing = [
            [key, self.billing[key]]
            for key in (arrivals[i] for i in range(len(arrivals) - billing, len(arrivals)))
        ]
        return new_billing, self._last_volume(volume)

    def _last_volume(self, count: int) -> list[list[int]]:
        start = len(self._times) - count
        return [[t, k] for t, k in zip(self._times[start:], self._keys[start:], strict=True)]

    def rewrite_all(self) -> None:
        """The next `take_new` hands out every id remembered (a checkpoint of everything)."""
        self._billing_segments.reopen()
        self._volume_segments.reopen()

    def take_expired(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(generation, ids it wrote) of the generations whose (billing, activity/survey)
        ids are all forgotten since the last call."""
        return self._billing_segments.take_expired(), self._volume_segments.take_expired()

    def restore(
        self,
        generations: Iterable[tuple[int, list[list[int]], list[list[int]]]],
        billing_from: int | None,
        volume_after: int | None,
    ) -> None:
        """Load checkpoint generations (in order: generation, billing [key, day] ids, activity
        and survey [applied at, key] ids) into an empty instance, without the ids the running
        engine had forgotten: the billing ids before the first one of a day >= `billing_from`
        (D - L), the activity and survey ids applied at or before `volume_after` (W - H)."""
        skipping = billing_from is not None
        for generation, billing, volume in generations:
            kept_billing = 0
            for key, day in billing:
                if skipping and day < billing_from:  # type: ignore[operator]
                    continue
                skipping = False
                self.add_billing(key, day)
                kept_billing += 1
            kept_volume = 0
            for applied_at, key in volume:
                if volume_after is None or applied_at > volume_after:
                    self.add_volume(key, applied_at)
                    kept_volume += 1
            self._billing_segments.restored(generation, kept_billing, len(billing))
            self._volume_segments.restored(generation, kept_volume, len(volume))
