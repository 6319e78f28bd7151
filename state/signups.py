"""Accounts by the day of their first signup (kept by `min`, never forgotten)."""

from __future__ import annotations

from state.day_index import DayIndex


def signup_book() -> DayIndex[str]:
    return DayIndex(latest=False, forget_keys=False)
