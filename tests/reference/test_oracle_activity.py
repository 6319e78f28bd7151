"""Tests of the reference oracle itself: activity, NPS and signups.

Split out of test_oracle.py (same style): every expected number below is
worked out by hand in the comments, from METRICS.md and docs/DECISIONS.md,
not taken from the oracle's output.
"""

from __future__ import annotations

from tests.reference.oracle import OracleConfig, oracle_snapshot
from tests.reference.test_oracle import (
    D,
    act,
    cancel,
    check,
    pay,
    signup,
    survey,
    tick,
)

# --------------------------------------------------------------------------
# activity, NPS, signups


def test_dau_wau_mau_and_stickiness() -> None:
    # D = Mar 1; wau [Feb 23, Mar 1], mau [Jan 31, Mar 1]
    lines = [
        act("a1", "u3", "2026-01-30T12:00:00Z"),  # outside every window
        act("a1", "u2", "2026-02-01T12:00:00Z"),  # mau
        act("a1", "u1", "2026-02-10T12:00:00Z"),
        act("a2", "u1", "2026-02-25T12:00:00Z"),  # another account: another user; wau
        act("a1", "u1", "2026-03-01T12:00:00Z"),  # dau
        act("a3", "u9", "2026-02-28T12:00:00Z"),  # out of order; wau
    ]
    check(
        oracle_snapshot(lines),
        {"dau": 1, "wau": 3, "mau": 4, "stickiness": D("0.2500"), "events": 6},
    )
    lines.append(act("a4", "u1", "2026-03-01T13:00:00Z"))
    lines.append(act("a5", "u1", "2026-03-01T14:00:00Z"))
    check(oracle_snapshot(lines), {"dau": 3, "wau": 5, "mau": 6, "stickiness": D("0.5000")})
    lines.append(act("a6", "u1", "2026-02-27T14:00:00Z"))
    check(oracle_snapshot(lines), {"dau": 3, "wau": 6, "mau": 7, "stickiness": D("0.4286")})
    # the edges: D-6 = Feb 23 is in the week, D-7 = Feb 22 is not
    lines.append(act("a7", "u1", "2026-02-23T00:00:00Z"))
    lines.append(act("a8", "u1", "2026-02-22T23:59:59Z"))
    check(oracle_snapshot(lines), {"dau": 3, "wau": 7, "mau": 9, "stickiness": D("0.3333")})


def test_nps_latest_response_per_respondent_and_window() -> None:
    # D = Mar 1, NPS window 90 days = [Dec 2, Mar 1]
    lines = [
        survey("a", "old", "2025-12-01T23:59:59Z", 10),  # outside
        survey("a", "edge", "2025-12-02T00:00:00Z", 0),  # inside: detractor
        survey("a", "u1", "2026-01-10T00:00:00Z", 2),
        survey("a", "u1", "2026-02-01T00:00:00Z", 10),  # replaces: promoter
        survey("a", "u2", "2026-02-01T00:00:00Z", 10),
        survey("a", "u2", "2026-01-20T00:00:00Z", 0),  # older: ignored
        survey("a", "u3", "2026-02-02T00:00:00Z", 9),
        survey("a", "u3", "2026-02-02T00:00:00Z", 8),  # equal time: replaces, passive
        survey("b", "u1", "2026-03-01T00:00:00Z", 6),  # another respondent: detractor
    ]
    result = oracle_snapshot(lines)
    # 2 promoters, 1 passive, 2 detractors of 5: NPS = 40 - 40 = 0
    check(
        result,
        {
            "nps_responses": 5,
            "promoters": 2,
            "passives": 1,
            "detractors": 2,
            "nps": D("0.0"),
            "events": 9,
        },
    )
    # n' = 8, p = q = 2.75/8 = 0.34375: sqrt(0.6875 / 8) = 0.29315...; x 196 = 57.457
    assert result["nps_margin"] == D("57.5")


def test_nps_margin_small_exact_case() -> None:
    # one promoter: n' = 4, p = 1.75/4 = 0.4375, q = 0.75/4 = 0.1875
    # p + q - (p - q)^2 = 0.625 - 0.0625 = 0.5625; / 4 = 0.140625; sqrt = 0.375
    # 1.96 x 0.375 x 100 = 73.5 exactly
    result = oracle_snapshot([survey("a", "u", "2026-03-01T00:00:00Z", 9)])
    check(result, {"nps": D("100.0"), "nps_margin": D("73.5"), "promoters": 1})


def test_nps_margin_exact_tie_rounds_half_to_even() -> None:
    # 6 promoters, 45 passives, 42 detractors (n = 93, n' = 96):
    # p = 6.75/96 = 0.0703125, q = 42.75/96 = 0.4453125, p - q = -0.375
    # p + q - (p - q)^2 = 0.515625 - 0.140625 = 0.375; / 96 = 0.00390625 = 1/256
    # sqrt = 1/16 = 0.0625; x 196 = 12.25 exactly -> 12.2 (half to even)
    scores = [10] * 6 + [8] * 45 + [0] * 42
    lines = [survey("a", f"u{i}", "2026-03-01T00:00:00Z", s) for i, s in enumerate(scores)]
    result = oracle_snapshot(lines)
    # NPS = (6 - 42) / 93 x 100 = -38.709... -> -38.7
    check(result, {"nps_responses": 93, "nps": D("-38.7"), "nps_margin": D("12.2")})


def test_nps_window_is_configurable() -> None:
    lines = [
        survey("a", "u1", "2026-02-20T00:00:00Z", 10),
        survey("a", "u2", "2026-02-21T00:00:00Z", 0),
        tick("2026-03-01T00:00:00Z"),
    ]
    # 9-day window [Feb 21, Mar 1]: only the detractor
    result = oracle_snapshot(lines, OracleConfig(nps_window_days=9))
    check(result, {"nps_responses": 1, "nps": D("-100.0"), "detractors": 1})


def test_signups_count_accounts_by_their_earliest_signup() -> None:
    # D = Mar 1: window [Jan 31, Mar 1]
    lines = [
        signup("s1", "2026-01-10T00:00:00Z"),
        signup("s2", "2026-02-05T00:00:00Z"),
        signup("s1", "2026-02-10T00:00:00Z"),  # s1's first signup was Jan 10: no
        signup("s4", "2026-02-20T00:00:00Z"),
        signup("s5", "2026-02-20T00:00:00Z"),
        signup("s3", "2026-03-01T00:00:00Z"),
        signup("s2", "2026-02-06T00:00:00Z"),  # a second signup: still one account
        signup("s4", "2026-01-31T00:00:00Z"),  # earlier, still in the window
        signup("s5", "2026-01-30T18:00:00Z"),  # earlier, out of the window: s5 no
    ]
    check(oracle_snapshot(lines), {"signups": 3, "events": 9, "dead_letters": 0})


def test_window_days_is_configurable() -> None:
    # N = 7: window [Feb 23, Mar 1], cohort streak start <= Feb 22, mau over 7 days
    config = OracleConfig(window_days=7, lapse_grace_days=0)
    lines = [
        pay("A", "2026-02-22T00:00:00Z", "10.00"),
        pay("B", "2026-02-23T00:00:00Z", "20.00"),
        act("A", "u", "2026-02-22T12:00:00Z"),
        signup("A", "2026-02-22T00:00:00Z"),
        signup("B", "2026-02-23T00:00:00Z"),
        cancel("A", "2026-02-28T00:00:00Z"),
        tick("2026-03-01T00:00:00Z"),
    ]
    check(
        oracle_snapshot(lines, config),
        {
            "new_customers": 1,
            "churned_customers": 1,
            "customers_at_start": 1,
            "customer_churn_rate": D("100.00"),
            "mau": 1,  # only the clock
            "signups": 1,
        },
    )
