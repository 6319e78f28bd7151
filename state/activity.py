"""Active users by their latest active day, for exact DAU/WAU/MAU at any day.

A user is `(account_id, user_id)`. Only a user's latest active day matters for
the figures at the current day (every active day is <= D), so a user holds one
day, set by `max` (idempotent, order-free), and `by_day` counts users per latest
day. Per-partition counts add up exactly because an account lives in one
partition.
"""

from __future__ import annotations

User = tuple[str, str]


class ActivityBook:
    __slots__ = ("by_day", "latest")

    def __init__(self) -> None:
        self.latest: dict[User, int] = {}
        self.by_day: dict[int, int] = {}

    def touch(self, user: User, day: int) -> bool:
        """Record an active day; True when the user's latest active day moved."""
        previous = self.latest.get(user)
        if previous is not None and previous >= day:
            return False
        self.latest[user] = day
        by_day = self.by_day
        if previous is not None and previous in by_day:
            by_day[previous] -= 1
        by_day[day] = by_day.get(day, 0) + 1
        return True

    def forget_days_before(self, day: int) -> None:
        """Drop days before `day`, and the users last seen then once they are most of the map.

        Sweeping users only when the forgotten ones outnumber the kept ones keeps the
        cost amortised O(1) per event; a forgotten user who comes back is simply new.
        """
        old_days = [d for d in self.by_day if d < day]
        for old in old_days:
            del self.by_day[old]
        if old_days and 2 * sum(self.by_day.values()) < len(self.latest):
            self.latest = {u: d for u, d in self.latest.items() if d >= day}
