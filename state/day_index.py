"""One day per key, kept by `max` or `min`, and how many keys hold each day.

The window figures sum `by_day`. Keeping a key's day by `max` (latest activity)
or `min` (first signup) is idempotent and order-free, so redeliveries and
out-of-order events cannot drift the counts; per-partition counts add up because
a key lives in one partition.

`changed` collects the keys whose day was set or that were forgotten since the caller
last emptied it: what an incremental checkpoint writes (state/checkpoint_records.py).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)


class DayIndex(Generic[Key]):
    __slots__ = ("_days", "_forget_keys", "_latest", "by_day", "changed", "day_of")

    def __init__(self, *, latest: bool, forget_keys: bool) -> None:
        self.day_of: dict[Key, int] = {}
        self.by_day: dict[int, int] = {}
        self.changed: set[Key] = set()
        self._days: dict[int, int] = {}
        """One int object per day, shared by every key that holds it (28 bytes a key less)."""
        self._latest = latest
        self._forget_keys = forget_keys

    def record(self, key: Key, day: int) -> bool:
        """Keep the later (or earlier) of the key's day and `day`; True when it moved."""
        previous = self.day_of.get(key)
        if previous is not None and (previous >= day if self._latest else previous <= day):
            return False
        self.day_of[key] = self._days.setdefault(day, day)
        self.changed.add(key)
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
        for old in [d for d in self._days if d < day]:
            del self._days[old]
        if self._forget_keys and old_days and 2 * sum(self.by_day.values()) < len(self.day_of):
            kept: dict[Key, int] = {}
            changed = self.changed
            for key, held in self.day_of.items():
                if held >= day:
                    kept[key] = held
                else:
                    changed.add(key)
            self.day_of = kept

    def restore(self, day_of: dict[Key, int], kept_from: int) -> None:
        """Load keys' days from a checkpoint; count those on days still kept."""
        days = self._days = {}
        self.day_of = {key: days.setdefault(day, day) for key, day in day_of.items()}
        self.by_day = {}
        self.changed = set()
        for day in day_of.values():
            if day >= kept_from:
                self.by_day[day] = self.by_day.get(day, 0) + 1
