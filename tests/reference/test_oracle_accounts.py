"""Hand-worked tests of ``oracle_accounts``, the per-account read model
(EVENTS.md "Redis": mrr, status, plan, last_active, last_score, plus
paying_since), with the readings R1 (plan) and R2 (last score) of the brief.
"""

from __future__ import annotations

import json

from tests.reference.oracle import OracleConfig, oracle_accounts
from tests.reference.test_oracle import D, act, cancel, line, pay, survey, yearly

P2 = OracleConfig(partitions=2)


def signup(account: str, at: str, plan: str | None, eid: str) -> bytes:
    value = {"event_id": eid, "occurred_at": at, "account_id": account, "plan": plan}
    return line("signups", value)


def test_accounts_on_a_small_stream() -> None:
    lines = [
        # C: paying since Jan 1, churned Feb 1, reactivated Feb 15 (the last line)
        yearly("C", "2026-01-01T00:00:00Z", monthly=30),
        # E: churned: a scheduled cancellation that W = Feb 15 reaches at the last line
        yearly("E", "2026-01-01T00:00:00Z", monthly=20),
        cancel("E", "2026-01-20T00:00:00Z", effective="2026-02-14T00:00:00Z"),
        cancel("C", "2026-02-01T00:00:00Z"),
        # A: the signup's plan fills the empty plan; a second signup does not replace
        signup("A", "2026-02-01T00:00:00Z", "basic", "s1"),
        signup("A", "2026-02-02T00:00:00Z", "other", "s2"),
        pay("A", "2026-02-03T00:00:00Z", "100.00", plan="pro"),  # R1: replaces; new Feb 3
        pay("A", "2026-02-04T00:00:00Z", "120.00"),  # no plan: keeps pro; expansion
        pay("A", "2026-02-02T00:00:00Z", "50.00", plan="stale"),  # < changed_at Feb 4
        pay("A", "2026-02-05T00:00:00Z", "99.00", status="failed", plan="failed"),
        pay("A", "2026-02-05T00:00:00Z", "99.00", kind="one_time", plan="once"),
        act("A", "u1", "2026-02-10T12:00:00.5Z"),
        act("A", "u2", "2026-02-09T00:00:00Z"),  # older: last_active stays Feb 10
        survey("A", "u1", "2026-02-08T00:00:00Z", 3),
        survey("A", "u2", "2026-02-08T00:00:00Z", 9),  # same time, processed later: 9
        survey("A", "u1", "2026-02-06T00:00:00Z", 10),  # not u1's latest: ignored
        survey("A", "u3", "2026-02-07T00:00:00Z", 0),  # u3's latest, but older than Feb 8
        # B: only a signup: a prospect with the signup's plan
        signup("B", "2026-02-01T00:00:00Z", "trial", "s3"),
        # F: touched by a failed payment only
        pay("F", "2026-02-01T00:00:00Z", "10.00", status="failed"),
        yearly("C", "2026-02-15T00:00:00Z", monthly=40),
    ]
    # Nothing is late (W <= Feb 10 until the last line), W = Feb 15 at the end.
    # A's last applied payment (Feb 4, monthly) lapses Mar 4 + 14 days: after W.
    assert oracle_accounts(lines) == {
        "A": {
            "mrr": D("120.00"),
            "currency": "USD",
            "status": "paying",
            "plan": "pro",
            "paying_since": "2026-02-03",
            "last_active": "2026-02-10T12:00:00.500000Z",
            "last_score": 9,
        },
        "B": {
            "mrr": D("0.00"),
            "currency": "USD",
            "status": "prospect",
            "plan": "trial",
            "paying_since": None,
            "last_active": None,
            "last_score": None,
        },
        "C": {
            "mrr": D("40.00"),
            "currency": "USD",
            "status": "paying",
            "plan": None,
            "paying_since": "2026-02-15",
            "last_active": None,
            "last_score": None,
        },
        "E": {
            "mrr": D("0.00"),
            "currency": "USD",
            "status": "churned",
            "plan": None,
            "paying_since": None,
            "last_active": None,
            "last_score": None,
        },
        "F": {
            "mrr": D("0.00"),
            "currency": "USD",
            "status": "prospect",
            "plan": None,
            "paying_since": None,
            "last_active": None,
            "last_score": None,
        },
    }
    assert str(oracle_accounts(lines)["B"]["mrr"]) == "0.00"


def test_a_signup_after_a_plan_payment_does_not_replace_it() -> None:
    lines = [
        pay("A", "2026-02-01T00:00:00Z", "10.00", plan="pro"),
        signup("A", "2026-02-02T00:00:00Z", "basic", "s"),
        pay("A", "2026-02-03T00:00:00Z", "10.00", plan=None),
    ]
    assert oracle_accounts(lines)["A"]["plan"] == "pro"


def test_last_active_and_paying_since_use_utc_and_drop_zero_microseconds() -> None:
    # 01:30 at +02:00 is Feb 28 23:30 UTC; 2026-03-01T00:30+01:00 is Feb 28 23:30 UTC
    lines = [
        pay("A", "2026-03-01T00:30:00+01:00", "10.00"),
        act("A", "u", "2026-03-01T01:30:00+02:00"),
    ]
    view = oracle_accounts(lines)["A"]
    assert view["last_active"] == "2026-02-28T23:30:00Z"
    assert view["paying_since"] == "2026-02-28"


def test_accounts_after_the_end_of_file_follow() -> None:
    lines = [
        yearly("X", "2026-01-01T00:00:00Z"),
        cancel("X", "2026-01-10T00:00:00Z", effective="2026-02-01T00:00:00Z"),
        act("Y", "u", "2026-02-05T00:00:00Z"),
    ]
    # X's partition (0) ends at Jan 10; the follow to Feb 5 fires the cancellation
    accounts = oracle_accounts(lines, P2)
    assert accounts["X"]["status"] == "churned"
    assert accounts["X"]["mrr"] == D("0.00")
    assert accounts["Y"]["last_active"] == "2026-02-05T00:00:00Z"


def _payment(account: str, amount: str) -> dict[str, object]:
    return {
        "event_id": f"{account}-{amount}",
        "occurred_at": "2026-03-01T00:00:00Z",
        "account_id": account,
        "amount": amount,
        "currency": "USD",
    }


def test_an_account_held_by_two_partitions_is_read_from_its_own() -> None:
    # X routes to partition 0; a line keyed "Y" puts a second X in partition 1
    both = [
        line("payments", _payment("X", "100.00")),
        line("payments", _payment("X", "50.00"), key="Y"),
    ]
    assert oracle_accounts(both, P2)["X"]["mrr"] == D("100.00")
    # only partition 1 holds it: that one
    only_elsewhere = [line("payments", _payment("X", "50.00"), key="Y")]
    assert oracle_accounts(only_elsewhere, P2)["X"]["mrr"] == D("50.00")
    # one partition: 100 then 50 at the same instant, not stale
    assert oracle_accounts(both)["X"]["mrr"] == D("50.00")


def test_dead_letters_and_duplicates_touch_no_account() -> None:
    lines = [
        act("A", "u", "2026-03-01T00:00:00Z", eid="a"),
        act("B", "u", "2026-03-01T00:00:00Z", eid="a").replace(b'"B"', b'"A"'),  # duplicate
        pay("C", "2026-03-01T00:00:00Z", "-1"),  # bad
        act("D", "u", "2025-01-01T00:00:00Z"),  # late
        json.dumps({"topic": "activity"}).encode(),
    ]
    assert list(oracle_accounts(lines)) == ["A"]
