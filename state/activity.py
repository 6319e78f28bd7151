"""Active users: each user's active days over window + lateness, as bits.

A user is `(account_id, user_id)`, held as one string (state/people.py). The current
DAU/WAU/MAU need only each user's latest active day (every active day is <= D), counted
in `by_day`. A past day's need the days before it: a user active on days 3 and 9 was in
day 5's WAU, which the latest day alone cannot say. So a user holds its latest day and a
bit for each earlier day it was active on, back over window + lateness days, packed in
one int. Setting a bit is an assignment (a redelivery sets nothing), and when a late
event sets a bit for a day that has closed, the closed days it reaches are revised in
place (`Tally`, state/day_rows.py): exact, and O(window) per late user-day, never
O(users).
"""

from __future__ import annotations

from typing import Final

from state.people import Person
from state.tally import Tally

User = Person

DAY_BITS: Final = 22
DAY_OFFSET: Final = 719_163
"""Days from 0001-01-01 to 1970-01-01: a packed day is never negative (years 1 to 9999)."""
_LATEST: Final = (1 << DAY_BITS) - 1


def unpack(held: int) -> tuple[int, int]:
    """(latest active day, bits of the earlier ones: bit k-1 = active on latest - k)."""
    return (held & _LATEST) - DAY_OFFSET, held >> DAY_BITS


class ActivityBook:
    __slots__ = ("_keep_mask", "_shared", "active", "by_day", "changed", "keep", "open", "window")

    def __init__(self, window_days: int, keep_bits: int, open_rows: dict[int, Tally]) -> None:
        self.active: dict[User, int] = {}
        """User -> its packed active days (`unpack`)."""
        self.by_day: dict[int, int] = {}
        """Day -> users whose latest active day it is (the current figures)."""
        self.changed: set[User] = set()
        """Users set or forgotten since the last checkpoint took them."""
        self.window = window_days
        self.keep = keep_bits
        self._keep_mask = (1 << keep_bits) - 1
        self.open = open_rows
        """The closed days still inside the lateness (the engine's history), revised here."""
        self._shared: dict[int, int] = {}
        """One int object per packed latest day without earlier days, shared by its users."""

    def _set(self, user: User, day: int, earlier: int) -> None:
        if earlier:
            self.active[user] = (day + DAY_OFFSET) | earlier << DAY_BITS
        else:
            packed = day + DAY_OFFSET
            self.active[user] = self._shared.setdefault(packed, packed)
        self.changed.add(user)

    def record(self, user: User, day: int, today: int) -> bool:
        """`user` was active on `day` (stream day `today`); True when the current figures
        moved (its latest day did). A day before `today` revises the closed days it reaches."""
        active = self.active
        held = active.get(user)
        by_day = self.by_day
        if held is None:
            self._set(user, day, 0)
            by_day[day] = by_day.get(day, 0) + 1
            if day < today:
                self._revise(None, today, day, today)
            return True
        latest = (held & _LATEST) - DAY_OFFSET
        if day == latest:
            return False
        if day > latest:
            shift = day - latest
            if shift <= self.keep:  # `_set` inline: this is the path of most events
                active[user] = (day + DAY_OFFSET) | (
                    (((held >> DAY_BITS) << shift) | (1 << (shift - 1))) & self._keep_mask
                ) << DAY_BITS
                self.changed.add(user)
            else:
                self._set(user, day, 0)
            if latest in by_day:
                by_day[latest] -= 1
            by_day[day] = by_day.get(day, 0) + 1
            if day < today:
                self._revise(latest, today, day, today)
            return True
        earlier = held >> DAY_BITS
        back = latest - day
        if back > self.keep:
            return False
        bit = 1 << (back - 1)
        if earlier & bit:
            return False
        self._set(user, latest, earlier | bit)
        before = earlier >> back
        after = earlier & (bit - 1)
        previous = day - (before & -before).bit_length() if before else None
        following = latest - after.bit_length() if after else latest
        self._revise(previous, following, day, today)
        return False

    def _revise(self, previous: int | None, following: int, day: int, today: int) -> None:
        """The user is now also active on `day`, and was not before: the closed days from
        `day` up to its next active day (`following`) that did not see it gain it."""
        window = self.window
        open_rows = self.open
        for closed in range(day, min(following, today, day + max(window, 7))):
            row = open_rows.get(closed)
            if row is None:
                continue
            if closed == day:
                row.dau += 1
            if closed <= day + 6 and (previous is None or previous < closed - 6):
                row.wau += 1
            if closed <= day + window - 1 and (previous is None or previous <= closed - window):
                row.mau += 1

    def forget_days_before(self, day: int) -> None:
        """Drop days before `day`, and the users whose latest day is before it.

        Users are swept only once the forgotten ones outnumber the counted ones, which
        keeps the cost amortised O(1) per event; a forgotten user that comes back is new.
        """
        by_day = self.by_day
        old_days = [d for d in by_day if d < day]
        for old in old_days:
            del by_day[old]
        packed_from = day + DAY_OFFSET
        for old in [p for p in self._shared if p < packed_from]:
            del self._shared[old]
        if old_days and 2 * sum(by_day.values()) < len(self.active):
            kept: dict[User, int] = {}
            changed = self.changed
            for user, held in self.active.items():
                if held & _LATEST >= packed_from:
                    kept[user] = held
                else:
                    changed.add(user)
            self.active = kept

    def restore(self, active: dict[User, int], kept_from: int) -> None:
        """Load users' packed days from a checkpoint; count those on days still kept."""
        self.active = {}
        self._shared = {}
        self.by_day = {}
        self.changed = set()
        for user, held in active.items():
            latest, earlier = unpack(held)
            self._set(user, latest, earlier & self._keep_mask)
            if latest >= kept_from:
                self.by_day[latest] = self.by_day.get(latest, 0) + 1
        self.changed = set()

    def stored(self, user: User) -> int | list[int] | None:
        """A user's checkpoint value: its latest day alone (as before bits were kept), or
        [latest day, earlier bits]; None once forgotten."""
        held = self.active.get(user)
        if held is None:
            return None
        latest, earlier = unpack(held)
        return [latest, earlier] if earlier else latest


def stored_to_packed(value: int | list[int]) -> int:
    """The packed form of `ActivityBook.stored`'s value (a plain day: no earlier days)."""
    if isinstance(value, int):
        return value + DAY_OFFSET
    latest, earlier = value
    return (latest + DAY_OFFSET) | earlier << DAY_BITS
