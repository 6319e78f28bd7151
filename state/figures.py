"""Every figure of METRICS.md, from one or more partial states, at a day D.

This is the only place figures are computed. A partial state holds absolute
values (MRR, paying accounts, counters) and per-day buckets; partitions' states
add up, so the embedded replay (one partial) and the worker's aggregator (one
partial per partition, at the global D) give the same numbers by construction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Final

from state.money import ZERO
from state.months import CohortMonth, MonthMovements
from state.mrr import DayMovements
from state.nps import NpsDay
from state.tally import Tally

Value = Decimal | int | None

MRR_FIGURES: Final = (
    "mrr", "arr", "paying_customers", "active_subscriptions", "seats", "arpa",
    "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "reactivation_mrr",
    "net_new_mrr", "new_customers", "churned_customers", "reactivated_customers",
    "mrr_at_start", "customers_at_start", "customer_churn_rate", "gross_mrr_churn_rate",
    "net_mrr_churn_rate", "grr", "nrr", "retention_rate", "clv",
)  # fmt: skip
ACTIVITY_FIGURES: Final = ("dau", "wau", "mau", "stickiness")
NPS_FIGURES: Final = ("nps", "nps_responses", "promoters", "passives", "detractors", "nps_margin")
SIGNUP_FIGURES: Final = ("signups",)
COUNTER_FIGURES: Final = ("events", "duplicates", "dead_letters")
FIGURES: Final = MRR_FIGURES + ACTIVITY_FIGURES + NPS_FIGURES + SIGNUP_FIGURES + COUNTER_FIGURES


class Group:
    """Bit flags: which families of figures an event may have changed."""

    MRR: Final = 1
    ACTIVITY: Final = 2
    NPS: Final = 4
    SIGNUPS: Final = 8
    COUNTERS: Final = 16
    ALL: Final = 31


GROUP_FIGURES: Final = {
    Group.MRR: MRR_FIGURES,
    Group.ACTIVITY: ACTIVITY_FIGURES,
    Group.NPS: NPS_FIGURES,
    Group.SIGNUPS: SIGNUP_FIGURES,
    Group.COUNTERS: COUNTER_FIGURES,
}

_MONEY = Decimal("0.01")
_PERCENT = Decimal("0.01")
_RATIO = Decimal("0.0001")
_SCORE = Decimal("0.1")
_HUNDRED = Decimal(100)
_EXACT = Context(prec=50)


@dataclass(slots=True)
class Partial:
    """What one engine (one partition) contributes to the figures."""

    mrr: Decimal
    paying: int
    subscriptions: int
    """Active subscriptions (a monthly amount > 0)."""
    seats: int
    """Their quantities summed."""
    movement_days: Mapping[int, DayMovements]
    activity_days: Mapping[int, int]
    nps_days: Mapping[int, NpsDay]
    signup_days: Mapping[int, int]
    tallies: Mapping[int, Tally]
    """The closed days inside the lateness: activity, NPS and counters (state/tally.py)."""
    first_day: int | None
    """The day of the partition's first event (None before it): nothing of it before."""
    months: Mapping[int, MonthMovements]
    cohorts: Mapping[int, Mapping[int, CohortMonth]]
    events: int
    duplicates: int
    dead_letters: int


@dataclass(frozen=True, slots=True)
class Windows:
    window_days: int = 30
    nps_window_days: int = 90


def _round(value: Decimal, step: Decimal) -> Decimal:
    return value.quantize(step, rounding=ROUND_HALF_EVEN)


def _ratio(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    """numerator / denominator x 100, exact to 50 digits; None for a zero denominator."""
    if denominator == 0:
        return None
    return _EXACT.divide(_EXACT.multiply(Decimal(numerator), _HUNDRED), Decimal(denominator))


def _percent(value: Decimal | None) -> Decimal | None:
    return None if value is None else _round(value, _PERCENT)


def _days(last: int, count: int) -> range:
    return range(last - count + 1, last + 1)


@dataclass(slots=True)
class MrrSums:
    """The additive sides of the MRR figures at a day: partitions' sums add up."""

    mrr: Decimal
    paying: int
    new: Decimal
    expansion: Decimal
    contraction: Decimal
    churned: Decimal
    reactivation: Decimal
    new_count: int
    churned_count: int
    reactivated_count: int
    cohort_expansion: Decimal
    cohort_contraction: Decimal
    cohort_churned: Decimal
    cohort_churned_count: int
    subscriptions: int = 0
    seats: int = 0

    @property
    def customers_at_start(self) -> int:
        return self.paying - self.new_count - self.reactivated_count + self.churned_count

    def add(self, other: MrrSums) -> None:
        self.mrr += other.mrr
        self.paying += other.paying
        self.new += other.new
        self.expansion += other.expansion
        self.contraction += other.contraction
        self.churned += other.churned
        self.reactivation += other.reactivation
        self.new_count += other.new_count
        self.churned_count += other.churned_count
        self.reactivated_count += other.reactivated_count
        self.cohort_expansion += other.cohort_expansion
        self.cohort_contraction += other.cohort_contraction
        self.cohort_churned += other.cohort_churned
        self.cohort_churned_count += other.cohort_churned_count
        self.subscriptions += other.subscriptions
        self.seats += other.seats


def mrr_sums(parts: Sequence[Partial], day: int | None, window: int) -> MrrSums:
    mrr = sum((p.mrr for p in parts), ZERO)
    paying = sum(p.paying for p in parts)
    subscriptions = sum(p.subscriptions for p in parts)
    seats = sum(p.seats for p in parts)
    new = expansion = contraction = churned = reactivation = ZERO
    new_count = churned_count = reactivated_count = 0
    cohort_expansion = cohort_contraction = cohort_churned = ZERO
    cohort_churned_count = 0
    if day is not None:
        cohort_cutoff = day - window
        for part in parts:
            buckets = part.movement_days
            for d in _days(day, window):
                bucket = buckets.get(d)
                if bucket is None:
                    continue
                new += bucket.new
                expansion += bucket.expansion
                contraction += bucket.contraction
                churned += bucket.churned
                reactivation += bucket.reactivation
                new_count += bucket.new_count
                churned_count += bucket.churned_count
                reactivated_count += bucket.reactivation_count
                for streak_start, cohort in bucket.by_streak_start.items():
                    if streak_start <= cohort_cutoff:
                        cohort_expansion += cohort.expansion
                        cohort_contraction += cohort.contraction
                        cohort_churned += cohort.churned
                        cohort_churned_count += cohort.churned_count
    return MrrSums(
        mrr, paying, new, expansion, contraction, churned, reactivation, new_count,
        churned_count, reactivated_count, cohort_expansion, cohort_contraction, cohort_churned,
        cohort_churned_count, subscriptions, seats,
    )  # fmt: skip


def churn_counts(parts: Sequence[Partial], day: int | None, window: int) -> tuple[int, int]:
    """The two sides of `customer_churn_rate` (churned starting customers, customers at
    start); unlike the rate they add up across partitions."""
    sums = mrr_sums(parts, day, window)
    return sums.cohort_churned_count, sums.customers_at_start


def churn_rate(churned: int, at_start: int) -> Decimal | None:
    return _percent(_ratio(churned, at_start))


def nps_score(promoters: int, detractors: int, responses: int) -> Decimal | None:
    nps = _ratio(promoters - detractors, responses)
    return None if nps is None else _round(nps, _SCORE)


def mrr_figures(parts: Sequence[Partial], day: int | None, window: int) -> dict[str, Value]:
    return mrr_figures_of(mrr_sums(parts, day, window))


def mrr_figures_of(m: MrrSums) -> dict[str, Value]:
    mrr, paying = m.mrr, m.paying
    new, expansion, contraction = m.new, m.expansion, m.contraction
    churned, reactivation = m.churned, m.reactivation
    new_count, churned_count, reactivated_count = m.new_count, m.churned_count, m.reactivated_count
    cohort_expansion, cohort_contraction = m.cohort_expansion, m.cohort_contraction
    cohort_churned, cohort_churned_count = m.cohort_churned, m.cohort_churned_count
    net_new = new + expansion + reactivation - contraction - churned
    at_start = mrr - net_new
    customers_at_start = m.customers_at_start
    churn_ratio = _ratio(cohort_churned_count, customers_at_start)
    arpa = _EXACT.divide(mrr, Decimal(paying)) if paying else None
    clv = (  # arpa / churn rate, as one division: a tie rounds half to even exactly
        _EXACT.divide(
            _EXACT.multiply(mrr, Decimal(customers_at_start)),
            Decimal(paying * cohort_churned_count),
        )
        if arpa is not None and churn_ratio
        else None
    )
    return {
        "mrr": _round(mrr, _MONEY),
        "arr": _round(mrr * 12, _MONEY),
        "paying_customers": paying,
        "active_subscriptions": m.subscriptions,
        "seats": m.seats,
        "arpa": None if arpa is None else _round(arpa, _MONEY),
        "new_mrr": _round(new, _MONEY),
        "expansion_mrr": _round(expansion, _MONEY),
        "contraction_mrr": _round(contraction, _MONEY),
        "churned_mrr": _round(churned, _MONEY),
        "reactivation_mrr": _round(reactivation, _MONEY),
        "net_new_mrr": _round(net_new, _MONEY),
        "new_customers": new_count,
        "churned_customers": churned_count,
        "reactivated_customers": reactivated_count,
        "mrr_at_start": _round(at_start, _MONEY),
        "customers_at_start": customers_at_start,
        "customer_churn_rate": _percent(churn_ratio),
        "gross_mrr_churn_rate": _percent(_ratio(churned + contraction, at_start)),
        "net_mrr_churn_rate": _percent(
            _ratio(churned + contraction - expansion - reactivation, at_start)
        ),
        "grr": _percent(_ratio(at_start - cohort_contraction - cohort_churned, at_start)),
        "nrr": _percent(
            _ratio(at_start + cohort_expansion - cohort_contraction - cohort_churned, at_start)
        ),
        "retention_rate": _percent(_ratio(paying - new_count, customers_at_start)),
        "clv": None if clv is None else _round(clv, _MONEY),
    }


def activity_figures(parts: Sequence[Partial], day: int | None, window: int) -> dict[str, Value]:
    return activity_figures_of(*activity_counts(parts, day, window))


def activity_counts(parts: Sequence[Partial], day: int | None, window: int) -> tuple[int, int, int]:
    """(DAU, WAU, MAU) at `day`: users by their latest active day."""
    dau = wau = mau = 0
    if day is not None:
        for part in parts:
            by_day = part.activity_days
            for d in _days(day, max(window, 7)):
                users = by_day.get(d, 0)
                if d > day - window:
                    mau += users
                if d > day - 7:
                    wau += users
                    if d == day:
                        dau += users
    return dau, wau, mau


def activity_figures_of(dau: int, wau: int, mau: int) -> dict[str, Value]:
    stickiness = _EXACT.divide(Decimal(dau), Decimal(mau)) if mau else ZERO
    return {"dau": dau, "wau": wau, "mau": mau, "stickiness": _round(stickiness, _RATIO)}


_Z95 = Decimal("1.96")
_PSEUDO = Decimal("0.75")


def nps_margin(promoters: int, detractors: int, responses: int) -> Decimal | None:
    """Half-width of the 95 % adjusted-Wald interval of NPS, in NPS points."""
    if responses == 0:
        return None
    n = Decimal(responses + 3)
    p = _EXACT.divide(promoters + _PSEUDO, n)
    q = _EXACT.divide(detractors + _PSEUDO, n)
    variance = _EXACT.divide(p + q - (p - q) * (p - q), n)
    return _round(_Z95 * _EXACT.sqrt(variance) * _HUNDRED, _SCORE)


def nps_figures(parts: Sequence[Partial], day: int | None, window: int) -> dict[str, Value]:
    return nps_figures_of(*nps_counts(parts, day, window))


def nps_counts(parts: Sequence[Partial], day: int | None, window: int) -> tuple[int, int, int]:
    """(promoters, passives, detractors) at `day`: respondents by their latest answer."""
    promoters = passives = detractors = 0
    if day is not None:
        for part in parts:
            by_day = part.nps_days
            for d in _days(day, window):
                bucket = by_day.get(d)
                if bucket is not None:
                    promoters += bucket.promoters
                    passives += bucket.passives
                    detractors += bucket.detractors
    return promoters, passives, detractors


def nps_figures_of(promoters: int, passives: int, detractors: int) -> dict[str, Value]:
    responses = promoters + passives + detractors
    return {
        "nps": nps_score(promoters, detractors, responses),
        "nps_responses": responses,
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
        "nps_margin": nps_margin(promoters, detractors, responses),
    }


def signup_figures(parts: Sequence[Partial], day: int | None, window: int) -> dict[str, Value]:
    return {"signups": signup_count(parts, day, window)}


def signup_count(parts: Sequence[Partial], day: int | None, window: int) -> int:
    signups = 0
    if day is not None:
        for part in parts:
            by_day = part.signup_days
            signups += sum(by_day.get(d, 0) for d in _days(day, window))
    return signups


def counter_figures(parts: Sequence[Partial]) -> dict[str, Value]:
    return {
        "events": sum(p.events for p in parts),
        "duplicates": sum(p.duplicates for p in parts),
        "dead_letters": sum(p.dead_letters for p in parts),
    }


def figures_at(
    parts: Sequence[Partial], day: int | None, windows: Windows, groups: int = Group.ALL
) -> dict[str, Value]:
    """The figures of the requested groups at day `day` (None: before any event)."""
    out: dict[str, Value] = {}
    if groups & Group.MRR:
        out.update(mrr_figures(parts, day, windows.window_days))
    if groups & Group.ACTIVITY:
        out.update(activity_figures(parts, day, windows.window_days))
    if groups & Group.NPS:
        out.update(nps_figures(parts, day, windows.nps_window_days))
    if groups & Group.SIGNUPS:
        out.update(signup_figures(parts, day, windows.window_days))
    if groups & Group.COUNTERS:
        out.update(counter_figures(parts))
    return out
