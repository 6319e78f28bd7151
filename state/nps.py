"""Survey respondents by the day of their latest response.

Each respondent `(account_id, user_id)` (one string, state/people.py) counts once,
by the latest response; a newer response replaces it (assignment), an older one
changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from state.clock import day_of
from state.people import Person

Respondent = Person


@dataclass(slots=True)
class NpsDay:
    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    def add(self, score: int, count: int) -> None:
        if score >= 9:
            self.promoters += count
        elif score >= 7:
            self.passives += count
        else:
            self.detractors += count


class NpsBook:
    __slots__ = ("by_day", "changed", "latest")

    def __init__(self) -> None:
        self.latest: dict[Respondent, tuple[int, int]] = {}
        self.by_day: dict[int, NpsDay] = {}
        self.changed: set[Respondent] = set()
        """Respondents answered or forgotten since the last checkpoint took them."""

    def respond(self, respondent: Respondent, at: int, day: int, score: int) -> bool:
        """True when the respondent's latest response changed (METRICS.md: latest wins)."""
        previous = self.latest.get(respondent)
        if previous is not None:
            previous_at, previous_score = previous
            if at < previous_at or (at == previous_at and score == previous_score):
                return False  # older, or the same answer again (a copy past the dedupe horizon)
            old_bucket = self.by_day.get(day_of(previous_at))
            if old_bucket is not None:
                old_bucket.add(previous_score, -1)
        self.latest[respondent] = (at, score)
        self.changed.add(respondent)
        bucket = self.by_day.get(day)
        if bucket is None:
            bucket = self.by_day[day] = NpsDay()
        bucket.add(score, 1)
        return True

    def forget_days_before(self, day: int) -> None:
        if not any(d < day for d in self.by_day):
            return
        for old in [d for d in self.by_day if d < day]:
            del self.by_day[old]
        for respondent in [r for r, (at, _) in self.latest.items() if day_of(at) < day]:
            del self.latest[respondent]
            self.changed.add(respondent)
