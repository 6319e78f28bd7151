"""Every day's figures, by brute force, from the oracle's simulation (`replay --series`).

For each day D from the first event's day to the day of the global stream time, the
oracle's own `figures` are computed over the lists as they stand at the end of D,
each rebuilt from scratch: an account's MRR is the sum of its MRR changes dated up to
D (so is its paying count), a user's latest active day is the latest of its active
days up to D, a respondent's answer is its latest-occurred one up to D (equal times:
the later one), and the counters are those of the moment the partition's stream time
left D (now, for the last day). Nothing is carried from one day to the next.
"""

from __future__ import annotations

from collections.abc import Iterable

from tests.reference.oracle import OracleConfig, oracle_partitions
from tests.reference.oracle_config import US_PER_DAY, day_of
from tests.reference.oracle_figures import Totals, figures


def _as_of(responses: list[tuple[int, int]], day: int) -> tuple[int, int] | None:
    held = None
    for t, score in responses:
        if day_of(t) <= day and (held is None or t >= held[0]):
            held = (t, score)
    return held


def oracle_series(lines: Iterable[bytes | str], config: OracleConfig) -> list[dict[str, object]]:
    parts = oracle_partitions(list(lines), config)
    firsts = [p.first_day for p in parts if p.first_day is not None]
    times = [p.W for p in parts if p.W is not None]
    if not firsts or not times:
        return []
    last = day_of(max(times))
    rows = []
    for day in range(min(firsts), last + 1):
        totals = Totals(stream_time=day * US_PER_DAY)
        mrr = paying = 0
        for part in parts:
            if part.first_day is None or part.first_day > day:
                continue
            for account in part.accounts.values():
                before = 0
                for effect, after in account.timeline:
                    if effect <= day:
                        mrr += after - before
                        paying += (before == 0 < after) - (after == 0 < before)
                    before = after
                for effect, active, seats in account.sub_timeline:
                    if effect <= day:
                        totals.subscriptions += active
                        totals.seats += seats
            totals.movements += part.movements
            totals.user_last_days += [
                max(d for d in days if d <= day) for days in part.active_days.values()
                if min(days) <= day
            ]  # fmt: skip
            for answers in part.responses.values():
                held = _as_of(answers, day)
                if held is not None:
                    totals.latest_responses.append(held)
            totals.first_signups += list(part.first_signup.values())
            counters = (part.events, part.duplicates, part.dead_letters)
            for first, through, then in part.day_counters:
                if first <= day <= through:
                    counters = then
            totals.events += counters[0]
            totals.duplicates += counters[1]
            totals.dead_letters += counters[2]
        assert paying > 0 or mrr == 0, (day, mrr, paying)
        totals.paying_mrr = [mrr, *([0] * (paying - 1))] if paying else []
        row = figures(totals, config)
        del row["as_of"]
        rows.append(row)
    return rows
