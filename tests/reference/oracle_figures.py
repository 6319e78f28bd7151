"""The snapshot figures of METRICS.md, by brute force at the end (see ``oracle.py``).

The simulation hands over plain lists gathered from every partition
(``Totals``); nothing here knows about partitions: a figure over the
partitions together is the figure over the concatenated lists.
"""

from __future__ import annotations

import decimal
import math
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from tests.reference.oracle_config import OracleConfig, date_text, day_of, time_text

__all__ = ["Movement", "Totals", "figures", "money"]

# (day, kind, cents, day the account's paying streak began)
Movement = tuple[int, str, int, int]


@dataclass
class Totals:
    """What the figures are computed from, over all partitions."""

    stream_time: int | None = None  # the global stream time G
    paying_mrr: list[int] = field(default_factory=list)  # cents, one per paying account
    movements: list[Movement] = field(default_factory=list)
    user_last_days: list[int] = field(default_factory=list)  # one per user (D19)
    latest_responses: list[tuple[int, int]] = field(default_factory=list)  # (t, score) (D17)
    first_signups: list[int] = field(default_factory=list)  # one per account (D18)
    events: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    subscriptions: int = 0  # with a monthly amount > 0 (BILLING.md)
    seats: int = 0  # their quantities


# a context that never rounds, for building results of any size exactly
_EXACT = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


def _round(value: Fraction, places: int) -> Decimal:
    """Round half to even to `places` decimals, exactly (D20)."""
    return Decimal(round(value * 10**places)).scaleb(-places, _EXACT)


def _round_sqrt(value: Fraction) -> int:
    """sqrt(value) rounded half to even to an integer, exactly."""
    floor_root = math.isqrt(value.numerator // value.denominator)
    # compare value with (floor_root + 1/2)^2 = (2 floor_root + 1)^2 / 4
    left = 4 * value.numerator
    right = (2 * floor_root + 1) ** 2 * value.denominator
    if left < right:
        return floor_root
    if left > right:
        return floor_root + 1
    return floor_root if floor_root % 2 == 0 else floor_root + 1


def money(cents: int | Fraction) -> Decimal:
    return _round(Fraction(cents, 100), 2)


def _percent(numerator: int | Fraction, denominator: int | Fraction) -> Decimal | None:
    if denominator == 0:
        return None
    return _round(Fraction(numerator) / Fraction(denominator) * 100, 2)


def figures(totals: Totals, config: OracleConfig) -> dict[str, object]:
    n = config.window_days
    if totals.stream_time is None:  # D2
        today = None
        as_of = None
        day_text = None
    else:
        today = day_of(totals.stream_time)
        as_of = time_text(totals.stream_time)
        day_text = date_text(today)

    # accounts now
    mrr = sum(totals.paying_mrr)
    paying_customers = len(totals.paying_mrr)

    # movements of the window [D-N+1, D]; starting cohort: streak start <= D-N (D15)
    sums = {"new": 0, "expansion": 0, "contraction": 0, "churn": 0, "reactivation": 0}
    counts = {"new": 0, "expansion": 0, "contraction": 0, "churn": 0, "reactivation": 0}
    cohort = {"expansion": 0, "contraction": 0, "churn": 0}
    cohort_churns = 0
    if today is not None:
        for day, kind, cents, streak_start in totals.movements:
            if not today - n + 1 <= day <= today:
                continue
            sums[kind] += cents
            counts[kind] += 1
            if streak_start <= today - n and kind in cohort:
                cohort[kind] += cents
                if kind == "churn":
                    cohort_churns += 1

    net_new = (
        sums["new"] + sums["expansion"] + sums["reactivation"] - sums["contraction"] - sums["churn"]
    )
    mrr_at_start = mrr - net_new
    new_customers = counts["new"]
    churned_customers = counts["churn"]
    reactivated_customers = counts["reactivation"]
    customers_at_start = (
        paying_customers - new_customers - reactivated_customers + churned_customers
    )

    customer_churn = (
        None if customers_at_start == 0 else Fraction(cohort_churns, customers_at_start)
    )
    arpa = None if paying_customers == 0 else Fraction(mrr, 100 * paying_customers)
    clv = None
    if arpa is not None and customer_churn:  # null when the rate is 0 or null
        clv = _round(arpa / customer_churn, 2)

    # activity: a user's latest active day (D19)
    dau = wau = mau = 0
    if today is not None:
        for last in totals.user_last_days:
            dau += last == today
            wau += last >= today - 6
            mau += last >= today - n + 1
    stickiness = Decimal("0.0000") if mau == 0 else _round(Fraction(dau, mau), 4)

    # NPS over respondents whose latest response is in [D-M+1, D] (D17)
    promoters = passives = detractors = 0
    if today is not None:
        m = config.nps_window_days
        for t, score in totals.latest_responses:
            if today - m + 1 <= day_of(t) <= today:
                if score >= 9:
                    promoters += 1
                elif score >= 7:
                    passives += 1
                else:
                    detractors += 1
    responses = promoters + passives + detractors
    nps = nps_margin = None
    if responses:
        nps = _round(Fraction(promoters - detractors, responses) * 100, 1)
        n_adj = responses + 3
        p = Fraction(4 * promoters + 3, 4 * n_adj)
        q = Fraction(4 * detractors + 3, 4 * n_adj)
        radicand = (p + q - (p - q) ** 2) / n_adj
        # 1.96 x sqrt(radicand) x 100 to 1 decimal = round(sqrt(1960^2 x radicand)) / 10
        nps_margin = _round(Fraction(_round_sqrt(1960**2 * radicand), 10), 1)

    signups = 0
    if today is not None:
        signups = sum(1 for t in totals.first_signups if today - n + 1 <= day_of(t) <= today)

    return {
        "currency": config.reporting_currency,
        "mrr": money(mrr),
        "arr": money(12 * mrr),
        "paying_customers": paying_customers,
        "active_subscriptions": totals.subscriptions,
        "seats": totals.seats,
        "arpa": None if arpa is None else _round(arpa, 2),
        "new_mrr": money(sums["new"]),
        "expansion_mrr": money(sums["expansion"]),
        "contraction_mrr": money(sums["contraction"]),
        "churned_mrr": money(sums["churn"]),
        "reactivation_mrr": money(sums["reactivation"]),
        "net_new_mrr": money(net_new),
        "new_customers": new_customers,
        "churned_customers": churned_customers,
        "reactivated_customers": reactivated_customers,
        "mrr_at_start": money(mrr_at_start),
        "customers_at_start": customers_at_start,
        "customer_churn_rate": None if customer_churn is None else _round(customer_churn * 100, 2),
        "gross_mrr_churn_rate": _percent(sums["churn"] + sums["contraction"], mrr_at_start),
        "net_mrr_churn_rate": _percent(
            sums["churn"] + sums["contraction"] - sums["expansion"] - sums["reactivation"],
            mrr_at_start,
        ),
        "grr": _percent(mrr_at_start - cohort["contraction"] - cohort["churn"], mrr_at_start),
        "nrr": _percent(
            mrr_at_start + cohort["expansion"] - cohort["contraction"] - cohort["churn"],
            mrr_at_start,
        ),
        "retention_rate": _percent(paying_customers - new_customers, customers_at_start),
        "clv": clv,
        "dau": dau,
        "wau": wau,
        "mau": mau,
        "stickiness": stickiness,
        "nps": nps,
        "nps_responses": responses,
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
        "nps_margin": nps_margin,
        "signups": signups,
        "events": totals.events,
        "duplicates": totals.duplicates,
        "dead_letters": totals.dead_letters,
        "as_of": as_of,
        "day": day_text,
    }
