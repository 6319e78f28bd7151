"""One day per key, kept by `max` or `min`, and how many keys hold each day.

The window figures sum `by_day`. Keeping a key's day by `max` (latest activity)
or `min` (first signup) is idempotent and order-free, so redeliveries and
out-of-order events cannot drift the counts; per-partition counts add up because
a key lives in one partition.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)


class DayIndex(Generic[Key]):
    __slots__ = ("_forget_keys", "_latest", "by_day", "day_of")

    def __init__(self, *, latest: bool, forget_keys: bool) -> None:
        self.day_of: dict[Key, int] = {}
        self.by_day: dict[int, int] = {}
        self._latest = latest
        self._forget_keys = forget_keys

    def record(self, key: Key, day: int) -> bool:
        """Keep the later (or earlier) of the key's day and `day`; True when it moved."""
        previous = self.day_of.get(key)
        if previous is not None and (previous >= day if self._latest else previous <= day):
            return False
        self.day_of[key] = day
        by_day = self.by_day
        if previous is not None and previous in by_day:
            by_day[previous] -= 1
        by_day[day] = by_day.get(day, 0) + 1
        return True

    def forget_days_before(self, day: int) -> None:
        """Drop days before `day`; with `forget_keys`, also the keys that hold them.

        Keys are swept only once the forgotten ones outnumber the counted ones, which
        keeps the cost amortised O(1) per event; a forgotten key that comes back is new.
        """
        old_days = [d for d in self.by_day if d < day]
        for old in old_days:
            del self.by_day[old]
        if self._forget_keys and old_days and 2 * sum(self.by_day.values()) < len(self.day_of):
            self.day_of = {k: d for k, d in self.day_of.items() if d >= day}

    def restore(self, day_of: dict[Key, int], kept_from: int) -> None:
        """Load keys' days from a checkpoint; count those on days still kept."""
        self.day_of = day_of
        self.by_day = {}
        for day in day_of.values():
            if day >= kept_from:
                self.by_day[day] = self.by_day.get(day, 0) + 1
