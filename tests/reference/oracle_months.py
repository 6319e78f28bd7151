"""The monthly movements table and the cohort table, by brute force (METRICS.md "Months",
"Cohorts"), from the oracle's movements and each account's MRR timeline.

Written from the spec, sharing no code with `state/`: calendar months from
`datetime.date`, money in integer cents, and every month-end value recomputed from
scratch over every account's whole timeline (no running sums, no buckets).
"""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

from tests.reference.oracle_figures import Movement

_EPOCH = date(1970, 1, 1)
Timeline = list[tuple[int, int]]


def _month(day: int) -> tuple[int, int]:
    when = _EPOCH + timedelta(days=day)
    return when.year, when.month


def _month_text(month: tuple[int, int]) -> str:
    return f"{month[0]:04d}-{month[1]:02d}"


def _next(month: tuple[int, int]) -> tuple[int, int]:
    year, m = month
    return (year + 1, 1) if m == 12 else (year, m + 1)


def _months(first: tuple[int, int], last: tuple[int, int]) -> list[tuple[int, int]]:
    out = [first]
    while out[-1] < last:
        out.append(_next(out[-1]))
    return out


def _cents_text(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def _percent_text(part: int, whole: int) -> str | None:
    """part / whole x 100, rounded half to even to 0.01."""
    if whole == 0:
        return None
    hundredths = Fraction(part * 10_000, whole)
    floor = hundredths.numerator // hundredths.denominator
    rest = hundredths - floor
    rounded = floor + (1 if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2) else 0)
    return _cents_text(rounded)


def _steps(timeline: Timeline) -> list[tuple[int, int, int]]:
    """(effect day, MRR change in cents, paying-accounts change) of each change, in
    processing order: each change is measured from the value before it."""
    steps, before = [], 0
    for day, after in timeline:
        paying = 1 if before == 0 < after else -1 if after == 0 < before else 0
        steps.append((day, after - before, paying))
        before = after
    return steps


def _at_end(steps: list[tuple[int, int, int]], month: tuple[int, int]) -> tuple[int, int]:
    """(MRR cents, paying 0/1/...) from every change dated up to the end of `month`."""
    mrr = paying = 0
    for day, delta, count in steps:
        if _month(day) <= month:
            mrr += delta
            paying += count
    return mrr, paying


def oracle_months(
    stream_time: int | None, movements: list[Movement], timelines: dict[str, Timeline]
) -> list[dict[str, object]]:
    if not movements or stream_time is None:
        return []
    first = min(_month(day) for day, *_ in movements)
    last = max(_month(stream_time // 86_400_000_000), max(_month(d) for d, *_ in movements))
    steps = [_steps(t) for t in timelines.values()]
    rows = []
    for month in _months(first, last):
        mine = [m for m in movements if _month(m[0]) == month]

        def amount(kind: str, mine: list[Movement] = mine) -> int:
            return sum(cents for _, k, cents, _ in mine if k == kind)

        def count(kind: str, mine: list[Movement] = mine) -> int:
            return sum(1 for _, k, _, _ in mine if k == kind)

        previous = (month[0] - 1, 12) if month[1] == 1 else (month[0], month[1] - 1)
        start = [_at_end(s, previous) for s in steps]
        end = [_at_end(s, month) for s in steps]
        net = (
            amount("new") + amount("expansion") + amount("reactivation")
            - amount("contraction") - amount("churn")
        )  # fmt: skip
        rows.append({
            "month": _month_text(month),
            "mrr_at_start": _cents_text(sum(m for m, _ in start)),
            "new_mrr": _cents_text(amount("new")), "new_customers": count("new"),
            "expansion_mrr": _cents_text(amount("expansion")),
            "expansion_count": count("expansion"),
            "contraction_mrr": _cents_text(amount("contraction")),
            "contraction_count": count("contraction"),
            "churned_mrr": _cents_text(amount("churn")), "churned_customers": count("churn"),
            "reactivation_mrr": _cents_text(amount("reactivation")),
            "reactivated_customers": count("reactivation"),
            "net_new_mrr": _cents_text(net),
            "mrr_at_end": _cents_text(sum(m for m, _ in end)),
            "customers_at_start": sum(p for _, p in start),
            "customers_at_end": sum(p for _, p in end),
        })  # fmt: skip
    return rows


def oracle_cohorts(
    stream_time: int | None, timelines: dict[str, Timeline]
) -> list[dict[str, object]]:
    """Each cohort (accounts by the month of their first payment) month by month."""
    cohorts: dict[tuple[int, int], list[list[tuple[int, int, int]]]] = {}
    for timeline in timelines.values():
        if timeline:
            cohorts.setdefault(_month(timeline[0][0]), []).append(_steps(timeline))
    if not cohorts or stream_time is None:
        return []
    last_change = max(_month(day) for t in timelines.values() for day, _ in t)
    last = max(_month(stream_time // 86_400_000_000), last_change)
    rows = []
    for cohort in sorted(cohorts):
        members = cohorts[cohort]
        firsts = [_at_end(s, cohort) for s in members]
        first_mrr, first_paying = sum(m for m, _ in firsts), sum(p for _, p in firsts)
        for since, month in enumerate(_months(cohort, last)):
            ends = [_at_end(s, month) for s in members]
            mrr, paying = sum(m for m, _ in ends), sum(p for _, p in ends)
            rows.append({
                "cohort": _month_text(cohort), "month": _month_text(month),
                "months_since": since, "customers": paying,
                "customers_pct": _percent_text(paying, first_paying),
                "mrr": _cents_text(mrr), "mrr_pct": _percent_text(mrr, first_mrr),
            })  # fmt: skip
    return rows
