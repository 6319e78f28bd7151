"""Accounts by the day of their first signup."""

from __future__ import annotations


class SignupBook:
    __slots__ = ("by_day", "first")

    def __init__(self) -> None:
        self.first: dict[str, int] = {}
        self.by_day: dict[int, int] = {}

    def sign_up(self, account_id: str, day: int) -> bool:
        """Keep the earliest signup day (min: order-free); True when it moved."""
        previous = self.first.get(account_id)
        if previous is not None and previous <= day:
            return False
        self.first[account_id] = day
        by_day = self.by_day
        if previous is not None and previous in by_day:
            by_day[previous] -= 1
        by_day[day] = by_day.get(day, 0) + 1
        return True

    def forget_days_before(self, day: int) -> None:
        for old in [d for d in self.by_day if d < day]:
            del self.by_day[old]
