"""The `event_id`s applied recently, in bounded memory.

An id can be forgotten once every event of its day is older than `W - L`: a copy
of such an event would be dead-lettered as late before the duplicate check.
"""

from __future__ import annotations


class SeenIds:
    __slots__ = ("_by_day", "_ids")

    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._by_day: dict[int, list[str]] = {}

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, event_id: str, day: int) -> bool:
        """True when the id is new (and is now remembered)."""
        ids = self._ids
        if event_id in ids:
            return False
        ids.add(event_id)
        bucket = self._by_day.get(day)
        if bucket is None:
            self._by_day[day] = [event_id]
        else:
            bucket.append(event_id)
        return True

    def forget_days_before(self, day: int) -> None:
        for old in [d for d in self._by_day if d < day]:
            self._ids.difference_update(self._by_day.pop(old))
