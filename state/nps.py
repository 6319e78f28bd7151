"""Survey respondents by the day of their latest response, and what a closed day needs.

Each respondent `(account_id, user_id)` (one string, state/people.py) counts once, by
the latest response; a newer response replaces it (assignment), an older one changes
nothing now. A closed day inside the lateness counts each respondent by its latest
response *as of that day*, so a respondent also keeps the earlier responses such a day
may still need (those since the oldest open day, and the last one before it); a response
that changes what a closed day saw revises that day's counts in place (`Tally`).
"""

from __future__ import annotations

from dataclasses import dataclass

from state.clock import US_PER_DAY, day_of
from state.people import Person
from state.tally import Tally

Respondent = Person
Answer = tuple[int, int]
"""(occurred_at in µs, score)."""


@dataclass(slots=True)
class NpsDay:
    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    def add(self, score: int, count: int) -> None:
        add_score(self, score, count)


def add_score(counts: NpsDay | Tally, score: int, count: int) -> None:
    """Count `count` (or take it back, negative) respondents answering `score`."""
    if score >= 9:
        counts.promoters += count
    elif score >= 7:
        counts.passives += count
    else:
        counts.detractors += count


def _counted(answers: list[Answer], day: int, window: int) -> int | None:
    """The score a closed `day` counts for a respondent with these answers (oldest first;
    of two at one instant the later-listed), or None when it counts none."""
    held = None
    for at, score in answers:
        if at // US_PER_DAY > day:
            break
        held = (at, score)
    if held is None or held[0] // US_PER_DAY <= day - window:
        return None
    return held[1]


class NpsBook:
    __slots__ = ("by_day", "changed", "earlier", "latest", "open", "window")

    def __init__(self, window_days: int = 90, open_rows: dict[int, Tally] | None = None) -> None:
        self.latest: dict[Respondent, Answer] = {}
        self.earlier: dict[Respondent, list[Answer]] = {}
        """Respondent -> its earlier responses a closed day may still need, oldest first."""
        self.by_day: dict[int, NpsDay] = {}
        self.changed: set[Respondent] = set()
        """Respondents answered or forgotten since the last checkpoint took them."""
        self.window = window_days
        self.open = {} if open_rows is None else open_rows
        """The closed days still inside the lateness (the engine's history), revised here."""

    def answers(self, respondent: Respondent) -> list[Answer]:
        latest = self.latest.get(respondent)
        earlier = self.earlier.get(respondent, [])
        return earlier if latest is None else [*earlier, latest]

    def respond(self, respondent: Respondent, at: int, day: int, score: int, today: int) -> bool:
        """True when the respondent's latest response changed (METRICS.md: latest wins)."""
        previous = self.latest.get(respondent)
        if previous is not None:
            previous_at, previous_score = previous
            if at == previous_at and score == previous_score:
                return False  # the same answer again (a copy past the dedupe horizon)
            if at < previous_at:
                self._remember_earlier(respondent, (at, score), today)
                return False
            old_bucket = self.by_day.get(day_of(previous_at))
            if old_bucket is not None:
                old_bucket.add(previous_score, -1)
        before = self.answers(respondent) if day < today and self.open else None
        if previous is not None:
            self.earlier.setdefault(respondent, []).append(previous)
        self.latest[respondent] = (at, score)
        self.changed.add(respondent)
        bucket = self.by_day.get(day)
        if bucket is None:
            bucket = self.by_day[day] = NpsDay()
        bucket.add(score, 1)
        if before is not None:
            self._revise(before, self.answers(respondent), day, today)
        self._trim(respondent, today)
        return True

    def _remember_earlier(self, respondent: Respondent, answer: Answer, today: int) -> None:
        """A response older than the latest: nothing changes now, but the closed days
        from its day on may now count it."""
        before = self.answers(respondent)
        earlier = self.earlier.setdefault(respondent, [])
        position = len(earlier)
        while position and earlier[position - 1][0] > answer[0]:
            position -= 1
        earlier.insert(position, answer)
        self.changed.add(respondent)
        day = answer[0] // US_PER_DAY
        if day < today and self.open:
            self._revise(before, self.answers(respondent), day, today)
        self._trim(respondent, today)

    def _revise(self, before: list[Answer], after: list[Answer], day: int, today: int) -> None:
        window = self.window
        for closed in range(day, today):
            row = self.open.get(closed)
            if row is None:
                continue
            was, now = _counted(before, closed, window), _counted(after, closed, window)
            if was != now:
                if was is not None:
                    add_score(row, was, -1)
                if now is not None:
                    add_score(row, now, 1)

    def _trim(self, respondent: Respondent, today: int) -> None:
        """Keep the earlier responses from the oldest open day on, and the last before it."""
        earlier = self.earlier.get(respondent)
        if not earlier:
            self.earlier.pop(respondent, None)
            return
        first_open = min(self.open, default=today)
        keep_from = 0
        for i, (at, _) in enumerate(earlier):
            if at // US_PER_DAY < first_open:
                keep_from = i
        latest = self.latest.get(respondent)
        if latest is not None and latest[0] // US_PER_DAY < first_open:
            keep_from = len(earlier)
        if keep_from:
            del earlier[:keep_from]
        if not earlier:
            del self.earlier[respondent]

    def forget_days_before(self, day: int) -> None:
        if not any(d < day for d in self.by_day):
            return
        for old in [d for d in self.by_day if d < day]:
            del self.by_day[old]
        for respondent in [r for r, (at, _) in self.latest.items() if day_of(at) < day]:
            del self.latest[respondent]
            self.earlier.pop(respondent, None)
            self.changed.add(respondent)

    def stored(self, respondent: Respondent) -> list[int] | None:
        """A respondent's checkpoint value: [at, score] of its latest response, then those
        of its kept earlier ones; None once forgotten."""
        latest = self.latest.get(respondent)
        if latest is None:
            return None
        return [*latest, *(v for answer in self.earlier.get(respondent, ()) for v in answer)]

    def restore(self, respondent: Respondent, value: list[int], nps_kept_from: int) -> None:
        at, score, *rest = value
        self.latest[respondent] = (at, score)
        if rest:
            self.earlier[respondent] = [(rest[i], rest[i + 1]) for i in range(0, len(rest), 2)]
        day = at // US_PER_DAY
        if day >= nps_kept_from:
            self.by_day.setdefault(day, NpsDay()).add(score, 1)
