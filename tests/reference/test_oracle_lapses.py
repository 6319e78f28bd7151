"""Tests of the reference oracle itself: lapses (METRICS.md "Lapse").

Split out of test_oracle.py (same style): every expected number below is
worked out by hand in the comments, from METRICS.md and docs/DECISIONS.md,
not taken from the oracle's output.
"""

from __future__ import annotations

import pytest

from tests.reference.oracle import OracleConfig, oracle_snapshot
from tests.reference.test_oracle import (
    NO_LAPSE,
    D,
    check,
    pay,
    tick,
)

# --------------------------------------------------------------------------
# lapses


def test_lapse_on_the_right_day() -> None:
    # paid Jan 31 10:00 for a month -> through Feb 28 10:00 (clamped) -> + 14 days
    # -> lapses at Mar 14 10:00; a failed payment does not extend it
    base = [
        pay("A", "2026-01-31T10:00:00Z", "50.00"),
        pay("A", "2026-02-20T00:00:00Z", "50.00", status="failed"),
    ]
    before = oracle_snapshot([*base, tick("2026-03-14T09:59:59.999999Z")])
    check(before, {"paying_customers": 1, "mrr": D("50.00")})
    at = oracle_snapshot([*base, tick("2026-03-14T10:00:00Z")])
    check(at, {"paying_customers": 0, "mrr": D("0.00"), "churned_mrr": D("50.00")})
    # dated Mar 14: in the window of Apr 12 = [Mar 14, Apr 12], not of Apr 13
    last = oracle_snapshot([*base, tick("2026-04-12T23:00:00Z")])
    check(last, {"churned_customers": 1, "churned_mrr": D("50.00")})
    gone = oracle_snapshot([*base, tick("2026-04-13T00:00:00Z")])
    check(gone, {"churned_customers": 0, "churned_mrr": D("0.00"), "paying_customers": 0})


@pytest.mark.parametrize(
    ("paid_at", "extra", "still_paying", "lapsed"),
    [
        # 2028 is a leap year: Jan 31 + 1 month = Feb 29, + 1 day grace = Mar 1
        ("2028-01-31T10:00:00Z", {}, "2028-03-01T09:59:59Z", "2028-03-01T10:00:00Z"),
        # Nov 30 + 1 quarter = Feb 28, + 1 day = Mar 1
        (
            "2026-11-30T00:00:00Z",
            {"interval": "quarter"},
            "2027-02-28T23:59:59Z",
            "2027-03-01T00:00:00Z",
        ),
        # Feb 29 2024 + 2 years = Feb 28 2026, + 1 day = Mar 1
        (
            "2024-02-29T12:00:00Z",
            {"interval": "year", "interval_count": 2},
            "2026-03-01T11:59:59Z",
            "2026-03-01T12:00:00Z",
        ),
        # 3 days: Mar 1 -> Mar 4, + 1 day = Mar 5
        (
            "2026-03-01T06:00:00Z",
            {"interval": "day", "interval_count": 3},
            "2026-03-05T05:59:59Z",
            "2026-03-05T06:00:00Z",
        ),
        # 2 weeks: Mar 1 -> Mar 15, + 1 day = Mar 16
        (
            "2026-03-01T06:00:00Z",
            {"interval": "week", "interval_count": 2},
            "2026-03-16T05:59:59Z",
            "2026-03-16T06:00:00Z",
        ),
        # the calendar month is taken in UTC: Jan 31 01:00 at +05:00 is Jan 30 20:00
        # UTC -> Feb 28 20:00 UTC (clamped), + 1 day = Mar 1 20:00 UTC (in local
        # time it would have been Feb 28 01:00 +05:00, lapsing on Feb 28 20:00 UTC)
        ("2026-01-31T01:00:00+05:00", {}, "2026-03-01T19:59:59Z", "2026-03-01T20:00:00Z"),
    ],
)
def test_lapse_calendar_arithmetic(
    paid_at: str, extra: dict[str, object], still_paying: str, lapsed: str
) -> None:
    config = OracleConfig(lapse_grace_days=1)
    first = pay("A", paid_at, "10.00", eid="p", **extra)
    check(oracle_snapshot([first, tick(still_paying)], config), {"paying_customers": 1})
    check(oracle_snapshot([first, tick(lapsed)], config), {"paying_customers": 0})


def test_grace_zero_turns_lapsing_off() -> None:
    lines = [pay("A", "2026-01-01T00:00:00Z", "10.00"), tick("2026-12-31T00:00:00Z")]
    check(oracle_snapshot(lines, NO_LAPSE), {"paying_customers": 1, "mrr": D("10.00")})
    check(oracle_snapshot(lines), {"paying_customers": 0, "mrr": D("0.00")})


def test_a_newer_payment_moves_the_lapse() -> None:
    lines = [
        pay("A", "2026-01-01T00:00:00Z", "10.00"),  # would lapse Feb 15
        pay("A", "2026-01-25T00:00:00Z", "10.00"),  # lapses Mar 11 instead
        tick("2026-03-10T23:00:00Z"),
    ]
    check(oracle_snapshot(lines), {"paying_customers": 1})
    lines[-1] = tick("2026-03-11T00:00:00Z")
    check(oracle_snapshot(lines), {"paying_customers": 0, "churned_customers": 1})


def test_out_of_order_payment_lapses_at_once() -> None:
    # W = Mar 20 (lateness bound Feb 18); a 1-day payment of Feb 19 arrives: it is
    # paid through Feb 20, + 14 = Mar 6 <= W: new (Feb 19) and churn (Mar 6) at once
    lines = [
        tick("2026-03-20T00:00:00Z"),
        pay("A", "2026-02-19T00:00:00Z", "1.00", interval="day"),
    ]
    check(
        oracle_snapshot(lines),
        {
            "paying_customers": 0,
            "mrr": D("0.00"),
            "new_mrr": D("30.42"),
            "churned_mrr": D("30.42"),
            "new_customers": 1,
            "churned_customers": 1,
            "customers_at_start": 0,
            "customer_churn_rate": None,
            "as_of": "2026-03-20T00:00:00Z",
        },
    )


def test_payment_dated_before_a_fired_lapse_reactivates() -> None:
    # D7: the lapse (Feb 15) does not move changed_at (Jan 1), so a payment of
    # Feb 10 arriving after it is not stale: reactivation dated Feb 10
    lines = [
        pay("A", "2026-01-01T00:00:00Z", "10.00"),
        tick("2026-02-16T00:00:00Z"),
        pay("A", "2026-02-10T00:00:00Z", "20.00"),
    ]
    check(
        oracle_snapshot(lines),
        {
            "paying_customers": 1,
            "mrr": D("20.00"),
            "churned_customers": 1,
            "reactivated_customers": 1,
            "reactivation_mrr": D("20.00"),
            "new_customers": 0,  # window [Jan 18, Feb 16] does not hold Jan 1
            "customers_at_start": 1,  # 1 - 0 - 1 + 1
            "customer_churn_rate": D("100.00"),
            "retention_rate": D("100.00"),  # (1 - 0) / 1: CRR keeps reactivations in E
        },
    )
