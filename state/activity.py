"""Active users by their latest active day, for exact DAU/WAU/MAU at any day.

A user is `(account_id, user_id)`, held as one string (state/people.py). Only a
user's latest active day matters for the figures at the current day (every active
day is <= D), so each user holds one day, kept by `max`; users last seen before
every kept window are forgotten.
"""

from __future__ import annotations

from state.day_index import DayIndex
from state.people import Person

User = Person


def activity_book() -> DayIndex[User]:
    return DayIndex(latest=True, forget_keys=True)
