"""Hand-worked tests of the oracle's time rules of METRICS.md "Time": too far
ahead, the scoped duplicates and their horizons, gaps, and payments whose
period ends past year 9999.

Every expected number is worked out by hand in the comments.
"""

from __future__ import annotations

import time

import pytest

from tests.reference.oracle import OracleConfig, oracle_snapshot
from tests.reference.test_oracle import (
    D,
    act,
    check,
    ms_of,
    pay,
    signup,
    stamped,
    survey,
    tick,
)

# --------------------------------------------------------------------------
# too far ahead (F = 3600 s by default)


def test_exactly_f_ahead_is_fine_one_microsecond_more_is_future() -> None:
    record = ms_of("2026-03-01T00:00:00Z")
    lines = [
        # occurred_at - record = 3600 s exactly = F: not more than F, applied
        stamped(act("A", "u1", "2026-03-01T01:00:00Z"), record),
        # 3600 s + 1 µs > F: dead letter (future)
        stamped(act("A", "u2", "2026-03-01T01:00:00.000001Z"), record),
    ]
    check(
        oracle_snapshot(lines),
        {"events": 1, "dead_letters": 1, "dau": 1, "as_of": "2026-03-01T01:00:00Z"},
    )


def test_f_is_configurable() -> None:
    # F = 0: an event at its record time is fine, 1 µs after it is future
    config = OracleConfig(max_future_seconds=0)
    record = ms_of("2026-03-01T00:00:00Z")
    lines = [
        stamped(act("A", "u1", "2026-03-01T00:00:00Z"), record),
        stamped(act("A", "u2", "2026-03-01T00:00:00.000001Z"), record),
        # an event before its record time is never too far ahead
        stamped(act("A", "u3", "2026-02-28T00:00:00Z"), record),
    ]
    check(oracle_snapshot(lines, config), {"events": 2, "dead_letters": 1, "mau": 2})


def test_a_line_without_timestamp_is_never_future() -> None:
    # no record time, no check: the year 2027 event applies and moves W
    lines = [tick("2026-03-01T00:00:00Z"), act("A", "u", "2027-01-01T00:00:00Z")]
    check(oracle_snapshot(lines), {"events": 2, "dead_letters": 0, "day": "2027-01-01"})


def test_a_record_time_of_zero_makes_a_2026_event_future() -> None:
    # timestamp 0 is an int, so it is a record time: 2026 is 56 years after it
    check(oracle_snapshot([stamped(tick("2026-03-01T00:00:00Z"), 0)]), {"dead_letters": 1})


def test_future_event_moves_no_stream_time_and_registers_no_id() -> None:
    lines = [
        stamped(tick("2026-03-01T00:00:00Z"), ms_of("2026-03-01T00:00:00Z")),
        # occurred Jun 1, recorded Mar 1: future. Had it moved W to Jun 1, the
        # Feb 1 event below would be late (Jun 1 - 30 days = May 2).
        stamped(act("A", "u1", "2026-06-01T00:00:00Z", eid="f"), ms_of("2026-03-01T00:00:00Z")),
        # W = Mar 1, late bound Jan 30: in time
        act("A", "u2", "2026-02-01T00:00:00Z"),
        # same id and account as the future one: not a duplicate, it left no id
        act("A", "u1", "2026-03-01T00:30:00Z", eid="f"),
    ]
    # events: tick, u2, u1 = 3; D = Mar 1 (as_of 00:30): dau = clock + u1 = 2, mau 3
    check(
        oracle_snapshot(lines),
        {
            "events": 3,
            "dead_letters": 1,
            "duplicates": 0,
            "dau": 2,
            "mau": 3,
            "as_of": "2026-03-01T00:30:00Z",
        },
    )


def test_too_far_ahead_is_checked_before_duplicate() -> None:
    lines = [
        act("A", "u", "2026-03-01T00:00:00Z", eid="x"),
        # a copy of x recorded 2 hours before it occurred: future, not a duplicate
        stamped(act("A", "u", "2026-03-01T00:00:00Z", eid="x"), ms_of("2026-02-28T22:00:00Z")),
    ]
    check(oracle_snapshot(lines), {"events": 1, "dead_letters": 1, "duplicates": 0})


@pytest.mark.parametrize("timestamp", [1.7e12, "1772323200000", True, None, [1], {"ms": 1}])
def test_a_timestamp_that_is_not_an_int_is_a_bad_line(timestamp: object) -> None:
    # the event itself is fine; the line is not (EVENTS.md "Replay file")
    raw = stamped(act("A", "u", "2026-03-01T00:00:00Z"), timestamp)
    check(oracle_snapshot([raw]), {"events": 0, "dead_letters": 1, "as_of": None})


def test_a_json_int_timestamp_in_exponent_form_is_a_float() -> None:
    # 1772323200000.0 is a float in JSON, hence not an int
    raw = act("A", "u", "2026-03-01T00:00:00Z")[:-1] + b', "timestamp": 1772323200000.0}'
    check(oracle_snapshot([raw]), {"dead_letters": 1, "events": 0})


# --------------------------------------------------------------------------
# duplicates: (event_id, account_id), horizon by the applied event's topic


def test_same_event_id_under_another_account_is_another_event() -> None:
    lines = [
        pay("A", "2026-03-01T00:00:00Z", "100.00", eid="e1"),
        pay("B", "2026-03-01T00:00:00Z", "50.00", eid="e1"),  # another account: applied
        act("A", "u", "2026-03-01T01:00:00Z", eid="e2"),
        act("B", "u", "2026-03-01T01:00:00Z", eid="e2"),  # another user too: applied
        pay("A", "2026-03-01T00:00:00Z", "100.00", eid="e1"),  # A's copy: duplicate
    ]
    # mrr 100 + 50; dau: (A, u) and (B, u)
    check(
        oracle_snapshot(lines),
        {
            "events": 4,
            "duplicates": 1,
            "mrr": D("150.00"),
            "new_customers": 2,
            "dau": 2,
        },
    )


def test_activity_copy_before_h_is_a_duplicate_at_h_it_is_applied_again() -> None:
    original = act("A", "u1", "2026-03-01T00:00:00Z", eid="a")  # applied at W = Mar 1 00:00
    lines = [
        original,
        tick("2026-03-01T23:59:59.999999Z"),
        original,  # W - W_applied = 24 h - 1 µs < 24 h: duplicate
        tick("2026-03-02T00:00:00Z"),
        original,  # W - W_applied = 24 h: forgotten, applied again (events + 1)
        original,  # remembered anew at W = Mar 2 00:00: duplicate
    ]
    # events: a, tick, tick, a again = 4; duplicates 2.
    # D = Mar 2: u1's latest active day is still Mar 1 (the copy adds Mar 1 again),
    # so dau = clock = 1, wau = mau = 2 (u1, clock): the same as without the copies
    expected = {"dau": 1, "wau": 2, "mau": 2, "stickiness": D("0.5000")}
    check(oracle_snapshot(lines), {"events": 4, "duplicates": 2, **expected})
    without_copies = [original, tick("2026-03-01T23:59:59.999999Z"), tick("2026-03-02T00:00:00Z")]
    check(oracle_snapshot(without_copies), {"events": 3, "duplicates": 0, **expected})


def test_activity_horizon_runs_from_the_stream_time_of_application() -> None:
    lines = [
        tick("2026-03-10T00:00:00Z"),
        # out of order (in time): applied at W = Mar 10 00:00, though it occurred Mar 1
        act("A", "u", "2026-03-01T00:00:00Z", eid="o"),
        tick("2026-03-10T23:00:00Z"),
        # W - W_applied = 23 h < 24 h: duplicate (9 days after its occurred_at)
        act("A", "u", "2026-03-01T00:00:00Z", eid="o"),
    ]
    check(oracle_snapshot(lines), {"events": 3, "duplicates": 1})


def test_dedupe_hours_is_configurable() -> None:
    config = OracleConfig(dedupe_hours=1)
    lines = [
        act("A", "u", "2026-03-01T00:00:00Z", eid="a"),
        tick("2026-03-01T00:59:59Z"),
        act("A", "u", "2026-03-01T00:00:00Z", eid="a"),  # 59:59 < 1 h: duplicate
        tick("2026-03-01T01:00:00Z"),
        act("A", "u", "2026-03-01T00:00:00Z", eid="a"),  # 1 h: applied again
    ]
    check(oracle_snapshot(lines, config), {"events": 4, "duplicates": 1})


def test_survey_copy_after_h_is_applied_again_and_changes_no_nps() -> None:
    original = survey("A", "u", "2026-03-01T00:00:00Z", 10, eid="s")
    lines = [original, tick("2026-03-02T00:00:00Z"), original]
    # the copy is again (A, u)'s latest answer (equal occurred_at replaces, D17):
    # still one promoter of one response
    check(
        oracle_snapshot(lines),
        {"events": 3, "duplicates": 0, "nps_responses": 1, "promoters": 1, "nps": D("100.0")},
    )


def test_billing_copy_within_lateness_is_a_duplicate() -> None:
    lines = [
        pay("A", "2026-03-01T00:00:00Z", "100.00", eid="p"),
        tick("2026-03-20T00:00:00Z"),
        # W = Mar 20, W - L = Feb 18: not late; its day Mar 1 ends after Feb 18, so the
        # id is still remembered (an activity id would be forgotten after 24 h)
        pay("A", "2026-03-01T00:00:00Z", "300.00", eid="p"),
        signup("A", "2026-03-02T00:00:00Z", eid="g"),
        tick("2026-03-25T00:00:00Z"),
        signup("A", "2026-03-02T00:00:00Z", eid="g"),  # duplicate as well
    ]
    # Mar 1 + 1 month + 14 days = Apr 15: no lapse at W = Mar 25
    check(
        oracle_snapshot(lines),
        {"events": 4, "duplicates": 2, "mrr": D("100.00"), "new_mrr": D("100.00"), "signups": 1},
    )


# --------------------------------------------------------------------------
# gaps and the end of time


def test_a_jump_to_year_9999_is_applied_and_then_everything_normal_is_late() -> None:
    lines = [
        pay("A", "2026-03-01T00:00:00Z", "100.00"),  # monthly: lapses Apr 1 + 14 = Apr 15
        act("A", "u", "2026-03-02T00:00:00Z"),
        act("Z", "u", "9999-12-31T23:00:00Z"),  # no timestamp: applied, W jumps
        act("A", "u", "2026-03-03T00:00:00Z"),  # late
        pay("A", "2026-03-04T00:00:00Z", "100.00"),  # late
        # in time (W - L = 9999-12-01 23:00): reactivation of A, dated 9999-12-31;
        # paid through 10000-01-31: past year 9999, so it never lapses
        pay("A", "9999-12-31T22:00:00Z", "100.00"),
    ]
    started = time.perf_counter()
    result = oracle_snapshot(lines)
    elapsed = time.perf_counter() - started
    # A's lapse fired at the jump (churn dated 2026-04-15, outside the window
    # [9999-12-02, 9999-12-31]); customers at start = 1 - 0 - 1 + 0 = 0
    check(
        result,
        {
            "events": 4,
            "dead_letters": 2,
            "mrr": D("100.00"),
            "paying_customers": 1,
            "new_customers": 0,
            "churned_customers": 0,
            "reactivated_customers": 1,
            "reactivation_mrr": D("100.00"),
            "customers_at_start": 0,
            "dau": 1,  # (Z, u)
            "mau": 1,
            "as_of": "9999-12-31T23:00:00Z",
            "day": "9999-12-31",
        },
    )
    assert elapsed < 0.5


@pytest.mark.parametrize(
    ("extra", "amount", "monthly", "paying_at_the_end"),
    [
        # 2026 + 10,000 years is past 9999: paid through forever, never lapses;
        # 1200 / 10000 / 12 = 0.01 a month
        ({"interval": "year", "interval_count": 10_000}, "1200", "0.01", True),
        # 2026 + 7973 = 9999-03-01, + 14 days = 9999-03-15 <= W: lapsed
        # (1200 / 7973 / 12 = 0.01254...: 0.01 while it paid)
        ({"interval": "year", "interval_count": 7973}, "1200", "0.00", False),
        # 3,000,000 days = 8,213 years and some: past 9999; 3e6 / 3e6 x 365 / 12 = 30.42
        ({"interval": "day", "interval_count": 3_000_000}, "3000000", "30.42", True),
        # 100,000 months = 8,333 years and 4 months: past 9999; 100000 / 100000 = 1.00
        ({"interval_count": 100_000}, "100000", "1.00", True),
    ],
)
def test_a_period_ending_past_year_9999_is_paid_through_forever(
    extra: dict[str, object], amount: str, monthly: str, paying_at_the_end: bool
) -> None:
    lines = [
        pay("A", "2026-03-01T00:00:00Z", amount, None, **extra),
        tick("9999-12-31T00:00:00Z"),
    ]
    check(
        oracle_snapshot(lines),
        {"paying_customers": int(paying_at_the_end), "mrr": D(monthly), "dead_letters": 0},
    )
