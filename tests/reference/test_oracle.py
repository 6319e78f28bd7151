"""Tests of the reference oracle itself, on small hand-written streams.

Every expected number below is worked out by hand in the comments, from
docs/METRICS.md and docs/DECISIONS.md, not taken from the oracle's output.
"""

from __future__ import annotations

import itertools
import json
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import pytest

from tests.reference.oracle import OracleConfig, oracle_snapshot

_ids = itertools.count(1)


def _eid(eid: str | None) -> str:
    return eid if eid is not None else f"auto-{next(_ids)}"


def line(topic: str, value: object, key: str | None = None) -> bytes:
    wrapper: dict[str, object] = {"topic": topic, "value": value}
    if key is not None:
        wrapper["key"] = key
    return json.dumps(wrapper).encode()


def pay(
    account: str, at: str, amount: object = "100.00", eid: str | None = None, **extra: object
) -> bytes:
    value = {
        "event_id": _eid(eid),
        "occurred_at": at,
        "account_id": account,
        "amount": amount,
        "currency": "USD",
        **extra,
    }
    return line("payments", value)


def yearly(account: str, at: str, monthly: int = 100, eid: str | None = None) -> bytes:
    """A yearly subscription worth `monthly` a month (no lapse within a year)."""
    return pay(account, at, f"{monthly * 12}.00", eid, interval="year")


def cancel(account: str, at: str, effective: str | None = None, eid: str | None = None) -> bytes:
    value: dict[str, object] = {"event_id": _eid(eid), "occurred_at": at, "account_id": account}
    if effective is not None:
        value["effective_at"] = effective
    return line("cancellations", value)


def act(account: str, user: str, at: str, eid: str | None = None) -> bytes:
    value = {"event_id": _eid(eid), "occurred_at": at, "account_id": account, "user_id": user}
    return line("activity", value)


def tick(at: str) -> bytes:
    """Moves stream time (an activity of a user that is not looked at)."""
    return act("clock", "clock", at)


def survey(account: str, user: str, at: str, score: int, eid: str | None = None) -> bytes:
    value = {
        "event_id": _eid(eid),
        "occurred_at": at,
        "account_id": account,
        "user_id": user,
        "score": score,
    }
    return line("surveys", value)


def signup(account: str, at: str, eid: str | None = None) -> bytes:
    value = {"event_id": _eid(eid), "occurred_at": at, "account_id": account}
    return line("signups", value)


def D(text: str) -> Decimal:
    return Decimal(text)


NO_LAPSE = OracleConfig(lapse_grace_days=0)


def check(result: dict[str, object], expected: dict[str, object]) -> None:
    got = {k: result[k] for k in expected}
    assert got == expected
    for k, v in expected.items():  # same Decimal exponent (2 / 4 / 1 decimals)
        if isinstance(v, Decimal):
            assert str(result[k]) == str(v), k


# --------------------------------------------------------------------------
# shape


def test_empty_stream() -> None:
    result = oracle_snapshot([])
    assert result == {
        "mrr": D("0.00"),
        "arr": D("0.00"),
        "paying_customers": 0,
        "arpa": None,
        "new_mrr": D("0.00"),
        "expansion_mrr": D("0.00"),
        "contraction_mrr": D("0.00"),
        "churned_mrr": D("0.00"),
        "reactivation_mrr": D("0.00"),
        "net_new_mrr": D("0.00"),
        "new_customers": 0,
        "churned_customers": 0,
        "reactivated_customers": 0,
        "mrr_at_start": D("0.00"),
        "customers_at_start": 0,
        "customer_churn_rate": None,
        "gross_mrr_churn_rate": None,
        "net_mrr_churn_rate": None,
        "grr": None,
        "nrr": None,
        "retention_rate": None,
        "clv": None,
        "dau": 0,
        "wau": 0,
        "mau": 0,
        "stickiness": D("0.0000"),
        "nps": None,
        "nps_responses": 0,
        "promoters": 0,
        "passives": 0,
        "detractors": 0,
        "nps_margin": None,
        "signups": 0,
        "events": 0,
        "duplicates": 0,
        "dead_letters": 0,
        "as_of": None,
        "day": None,
    }
    assert str(result["mrr"]) == "0.00"
    assert str(result["stickiness"]) == "0.0000"


def test_only_dead_letters_keep_no_stream_time() -> None:
    result = oracle_snapshot([b"not json", b'{"topic": "payments"}'])
    check(result, {"dead_letters": 2, "events": 0, "as_of": None, "day": None, "mrr": D("0.00")})


def test_as_of_is_utc_with_z_and_day_is_utc_date() -> None:
    # 23:30 at -02:00 is 01:30 UTC on the next day
    result = oracle_snapshot([tick("2026-03-01T23:30:00-02:00")])
    check(result, {"as_of": "2026-03-02T01:30:00Z", "day": "2026-03-02", "events": 1})
    result = oracle_snapshot([tick("2026-03-01T10:00:00.5+00:00")])
    check(result, {"as_of": "2026-03-01T10:00:00.500000Z", "day": "2026-03-01"})


def test_stream_time_never_goes_back() -> None:
    result = oracle_snapshot([tick("2026-03-02T08:00:00Z"), tick("2026-03-01T08:00:00Z")])
    check(result, {"as_of": "2026-03-02T08:00:00Z", "day": "2026-03-02", "events": 2})


def test_blank_lines_are_skipped() -> None:
    result = oracle_snapshot([b"\n", tick("2026-03-01T00:00:00Z") + b"\n", b"   ", b""])
    check(result, {"events": 1, "dead_letters": 0})


def test_str_lines_and_raw_string_values_are_accepted() -> None:
    value = json.dumps(
        {"event_id": "r1", "occurred_at": "2026-03-01T00:00:00Z", "account_id": "a", "amount": 5}
        | {"currency": "USD"}
    )
    result = oracle_snapshot([line("payments", value).decode()])
    check(result, {"events": 1, "mrr": D("5.00"), "paying_customers": 1})


# --------------------------------------------------------------------------
# the seeds' worked examples


def test_seed_10_customers_at_start_2_leave() -> None:
    # 10 accounts at 100/month since Jan 1; 2 cancel on Feb 10; D = Mar 1.
    # Window [Jan 31, Mar 1], starting cohort = streak start <= Jan 30.
    lines = [yearly(f"c{i}", "2026-01-01T00:00:00Z") for i in range(10)]
    lines += [cancel("c0", "2026-02-10T09:00:00Z"), cancel("c1", "2026-02-10T10:00:00Z")]
    lines += [act("c2", "u", "2026-03-01T12:00:00Z")]
    check(
        oracle_snapshot(lines),
        {
            "mrr": D("800.00"),
            "arr": D("9600.00"),
            "paying_customers": 8,
            "arpa": D("100.00"),
            "new_mrr": D("0.00"),
            "churned_mrr": D("200.00"),
            "net_new_mrr": D("-200.00"),
            "churned_customers": 2,
            "mrr_at_start": D("1000.00"),
            "customers_at_start": 10,
            "customer_churn_rate": D("20.00"),  # 2 / 10
            "retention_rate": D("80.00"),  # (8 - 0) / 10
            "gross_mrr_churn_rate": D("20.00"),  # 200 / 1000
            "net_mrr_churn_rate": D("20.00"),
            "grr": D("80.00"),  # (1000 - 200) / 1000
            "nrr": D("80.00"),
            "clv": D("500.00"),  # 100 / 0.20
            "dau": 1,
            "wau": 1,
            "mau": 1,
            "stickiness": D("1.0000"),
            "events": 13,
            "as_of": "2026-03-01T12:00:00Z",
            "day": "2026-03-01",
        },
    )


def test_seed_nps_50_30_20() -> None:
    scores = [10] * 50 + [7] * 30 + [3] * 20
    lines = [survey("acct", f"u{i}", "2026-03-01T00:00:00Z", s) for i, s in enumerate(scores)]
    result = oracle_snapshot(lines)
    # margin by hand: n' = 103, p = 50.75/103, q = 20.75/103
    with localcontext() as ctx:
        ctx.prec = 40
        n_adj = Decimal(103)
        p = Decimal("50.75") / n_adj
        q = Decimal("20.75") / n_adj
        margin = Decimal("1.96") * ((p + q - (p - q) ** 2) / n_adj).sqrt() * 100
        margin = margin.quantize(Decimal("0.1"), ROUND_HALF_EVEN)
    assert margin == D("15.1")  # 15.0754...
    check(
        result,
        {
            "nps": D("30.0"),
            "nps_responses": 100,
            "promoters": 50,
            "passives": 30,
            "detractors": 20,
            "nps_margin": D("15.1"),
        },
    )


# --------------------------------------------------------------------------
# movements and window figures


def test_all_movement_kinds_and_the_starting_cohort() -> None:
    # A: new Jan 1 (100), +50 Feb 5, -100 Feb 10, churn Feb 15 (50), back Feb 20 (80)
    # B: new Feb 3 (30), churn Feb 12 (joined and left inside the window)
    # C: new Jan 5 (200)
    # D = Mar 1: window [Jan 31, Mar 1], cohort = streak start <= Jan 30
    lines = [
        pay("A", "2026-01-01T00:00:00Z", "100.00"),
        pay("C", "2026-01-05T00:00:00Z", "200.00"),
        pay("B", "2026-02-03T00:00:00Z", "30.00"),
        pay("A", "2026-02-05T00:00:00Z", "150.00"),
        pay("A", "2026-02-10T00:00:00Z", "50.00"),
        cancel("B", "2026-02-12T00:00:00Z"),
        cancel("A", "2026-02-15T00:00:00Z"),
        pay("A", "2026-02-20T00:00:00Z", "80.00"),
        tick("2026-03-01T12:00:00Z"),
    ]
    check(
        oracle_snapshot(lines, NO_LAPSE),
        {
            "mrr": D("280.00"),  # A 80 + C 200
            "arr": D("3360.00"),
            "paying_customers": 2,
            "arpa": D("140.00"),
            "new_mrr": D("30.00"),
            "expansion_mrr": D("50.00"),
            "contraction_mrr": D("100.00"),
            "churned_mrr": D("80.00"),  # A 50 + B 30
            "reactivation_mrr": D("80.00"),
            "net_new_mrr": D("-20.00"),  # 30 + 50 + 80 - 100 - 80
            "new_customers": 1,
            "churned_customers": 2,
            "reactivated_customers": 1,
            "mrr_at_start": D("300.00"),  # 280 + 20 = A 100 + C 200
            "customers_at_start": 2,  # 2 - 1 - 1 + 2
            "customer_churn_rate": D("50.00"),  # only A's churn is the cohort's: 1 / 2
            "gross_mrr_churn_rate": D("60.00"),  # (80 + 100) / 300
            "net_mrr_churn_rate": D("16.67"),  # (80 + 100 - 50 - 80) / 300
            "grr": D("50.00"),  # (300 - 100 - 50) / 300
            "nrr": D("66.67"),  # (300 + 50 - 100 - 50) / 300
            "retention_rate": D("50.00"),  # (2 - 1) / 2
            "clv": D("280.00"),  # 140 / 0.5
            "events": 9,
        },
    )


def test_window_moves_on() -> None:
    # new on Jan 10; D = Feb 8 is the last day whose window [Jan 10, Feb 8] holds it
    base = [pay("A", "2026-01-10T00:00:00Z", "40.00")]
    inside = oracle_snapshot([*base, tick("2026-02-08T23:59:59Z")], NO_LAPSE)
    check(inside, {"new_mrr": D("40.00"), "new_customers": 1, "customers_at_start": 0})
    check(inside, {"customer_churn_rate": None, "mrr_at_start": D("0.00"), "grr": None})
    outside = oracle_snapshot([*base, tick("2026-02-09T00:00:00Z")], NO_LAPSE)
    check(
        outside,
        {
            "new_mrr": D("0.00"),
            "new_customers": 0,
            "customers_at_start": 1,
            "mrr_at_start": D("40.00"),
            "customer_churn_rate": D("0.00"),
            "clv": None,  # churn rate 0
            "retention_rate": D("100.00"),
            "grr": D("100.00"),
            "nrr": D("100.00"),
        },
    )


def test_equal_price_is_no_movement_and_zero_price() -> None:
    lines = [
        pay("A", "2026-03-01T00:00:00Z", "10.00"),
        pay("A", "2026-03-02T00:00:00Z", "10.00"),  # same MRR: nothing
        pay("P", "2026-03-02T00:00:00Z", "0.00"),  # 0 on a prospect: stays a prospect
        pay("Z", "2026-03-01T00:00:00Z", "25.00"),
        pay("Z", "2026-03-03T00:00:00Z", "0"),  # 0 price on a paying account: churn
        pay("Z", "2026-03-04T00:00:00Z", "0"),  # 0 on a churned one: nothing
        cancel("P", "2026-03-04T00:00:00Z"),  # cancelling a prospect: nothing
    ]
    check(
        oracle_snapshot(lines, NO_LAPSE),
        {
            "mrr": D("10.00"),
            "paying_customers": 1,
            "new_mrr": D("35.00"),
            "new_customers": 2,
            "churned_mrr": D("25.00"),
            "churned_customers": 1,
            "expansion_mrr": D("0.00"),
            "customers_at_start": 0,
            "events": 7,
        },
    )


def test_failed_refunded_and_one_time_payments_change_nothing() -> None:
    lines = [
        pay("A", "2026-03-01T00:00:00Z", "10.00"),
        pay("A", "2026-03-02T00:00:00Z", "99.00", status="failed"),
        pay("A", "2026-03-03T00:00:00Z", "99.00", status="refunded"),
        pay("A", "2026-03-04T00:00:00Z", "99.00", kind="one_time"),
        pay("B", "2026-03-04T00:00:00Z", "99.00", kind="one_time"),
    ]
    check(
        oracle_snapshot(lines),
        {"mrr": D("10.00"), "paying_customers": 1, "new_customers": 1, "events": 5},
    )


@pytest.mark.parametrize(
    ("amount", "currency", "extra", "rates", "expected"),
    [
        ("49.00", "USD", {}, {}, "49.00"),
        ("1200", "USD", {"interval": "year"}, {}, "100.00"),
        ("100", "EUR", {"interval": "year"}, {"EUR": "1.10"}, "9.17"),  # 110 / 12 = 9.1666
        ("1000", "JPY", {}, {"JPY": "0.0067"}, "6.70"),
        ("1.00", "USD", {"interval": "day"}, {}, "30.42"),  # 365 / 12 = 30.41666
        ("12", "USD", {"interval": "week"}, {}, "52.00"),  # 12 x 52 / 12
        ("10", "USD", {"interval": "week", "interval_count": 2}, {}, "21.67"),  # 5 x 52/12
        ("300", "USD", {"interval_count": 6}, {}, "50.00"),
        ("0.075", "USD", {"interval": "quarter"}, {}, "0.02"),  # 0.025: half to even
        ("0.105", "USD", {"interval": "quarter"}, {}, "0.04"),  # 0.035: half to even
        ("0.125", "USD", {}, {}, "0.12"),
        ("0.135", "USD", {}, {}, "0.14"),
        (59.99, "USD", {}, {}, "59.99"),  # a JSON number
        (7, "USD", {}, {}, "7.00"),
        ("1e2", "USD", {}, {}, "100.00"),
        ("100", "USD", {}, {"USD": "3"}, "100.00"),  # the reporting currency is always 1
    ],
)
def test_monthly_amount(
    amount: object, currency: str, extra: dict, rates: dict, expected: str
) -> None:
    fx = {"USD": Decimal(1)} | {k: Decimal(v) for k, v in rates.items()}
    config = OracleConfig(fx_rates=fx)
    value = {
        "event_id": "p",
        "occurred_at": "2026-03-01T00:00:00Z",
        "account_id": "A",
        "amount": amount,
        "currency": currency,
        **extra,
    }
    result = oracle_snapshot([line("payments", value)], config)
    check(result, {"mrr": D(expected), "new_mrr": D(expected), "dead_letters": 0})


def test_reporting_currency_other_than_usd() -> None:
    config = OracleConfig(reporting_currency="EUR", fx_rates={"USD": Decimal("0.5")})
    lines = [
        line(
            "payments",
            {"event_id": "1", "occurred_at": "2026-03-01T00:00:00Z", "account_id": "A"}
            | {"amount": "10", "currency": "EUR"},
        ),
        pay("B", "2026-03-01T00:00:00Z", "10"),  # USD at 0.5
        line(
            "payments",
            {"event_id": "3", "occurred_at": "2026-03-01T00:00:00Z", "account_id": "C"}
            | {"amount": "10", "currency": "GBP"},
        ),
    ]
    check(oracle_snapshot(lines, config), {"mrr": D("15.00"), "dead_letters": 1})


# --------------------------------------------------------------------------
# cancellations


def test_scheduled_cancellation_takes_effect_when_stream_time_reaches_it() -> None:
    lines = [
        yearly("A", "2026-01-01T00:00:00Z"),
        cancel("A", "2026-01-10T00:00:00Z", effective="2026-02-01T00:00:00Z"),
        tick("2026-01-31T23:59:59.999999Z"),
    ]
    check(oracle_snapshot(lines), {"paying_customers": 1, "mrr": D("100.00")})
    lines[-1] = tick("2026-02-01T00:00:00Z")
    check(
        oracle_snapshot(lines),
        {"paying_customers": 0, "mrr": D("0.00"), "churned_mrr": D("100.00")},
    )
    # dated Feb 1: still in the window of Mar 2 ([Feb 1, Mar 2]), not in Mar 3's
    lines[-1] = tick("2026-03-02T12:00:00Z")
    check(oracle_snapshot(lines), {"churned_customers": 1, "customer_churn_rate": D("100.00")})
    lines[-1] = tick("2026-03-03T00:00:00Z")
    check(oracle_snapshot(lines), {"churned_customers": 0, "customers_at_start": 0})


def test_scheduled_cancellation_withdrawn_by_a_later_payment() -> None:
    lines = [
        yearly("A", "2026-01-01T00:00:00Z"),
        cancel("A", "2026-01-10T00:00:00Z", effective="2026-02-01T00:00:00Z"),
        yearly("A", "2026-01-20T00:00:00Z"),  # same price: no movement, but withdraws
        tick("2026-02-05T00:00:00Z"),
    ]
    check(
        oracle_snapshot(lines),
        {"paying_customers": 1, "mrr": D("100.00"), "churned_customers": 0, "events": 4},
    )


def test_payment_at_the_same_instant_as_the_request_does_not_withdraw() -> None:
    lines = [
        yearly("A", "2026-01-01T00:00:00Z"),
        cancel("A", "2026-01-10T00:00:00Z", effective="2026-02-01T00:00:00Z"),
        yearly("A", "2026-01-10T00:00:00Z", monthly=120),  # not stale (equal), not after
        tick("2026-02-05T00:00:00Z"),
    ]
    check(
        oracle_snapshot(lines),
        {
            "paying_customers": 0,
            "expansion_mrr": D("20.00"),
            "churned_mrr": D("120.00"),
            "churned_customers": 1,
        },
    )


def test_a_second_cancellation_replaces_the_scheduled_one() -> None:
    lines = [
        yearly("A", "2026-01-01T00:00:00Z"),
        cancel("A", "2026-01-10T00:00:00Z", effective="2026-02-01T00:00:00Z"),
        cancel("A", "2026-01-11T00:00:00Z", effective="2026-03-01T00:00:00Z"),
        tick("2026-02-05T00:00:00Z"),
    ]
    check(oracle_snapshot(lines), {"paying_customers": 1})
    lines[-1] = tick("2026-03-01T00:00:00Z")
    check(oracle_snapshot(lines), {"paying_customers": 0, "churned_customers": 1})


def test_immediate_cancellation_clears_the_scheduled_one() -> None:
    # D11: scheduled for Feb 1 (requested Jan 10 09:00), then an immediate one at the
    # same instant (churn), then a payment at that instant (reactivation; it is not
    # after the request, so only the clearing keeps the Feb 1 schedule from firing)
    lines = [
        yearly("A", "2026-01-01T00:00:00Z"),
        cancel("A", "2026-01-10T09:00:00Z", effective="2026-02-01T00:00:00Z"),
        cancel("A", "2026-01-10T09:00:00Z"),
        yearly("A", "2026-01-10T09:00:00Z"),
        tick("2026-02-05T00:00:00Z"),
    ]
    check(
        oracle_snapshot(lines),
        {"paying_customers": 1, "churned_customers": 1, "reactivated_customers": 1},
    )


def test_timer_fires_before_an_event_at_its_effect_time() -> None:
    # Order of work: W moves to Feb 1, the cancellation fires (churn), then the
    # payment applies (reactivation), both dated Feb 1
    lines = [
        yearly("A", "2026-01-01T00:00:00Z"),
        cancel("A", "2026-01-10T00:00:00Z", effective="2026-02-01T00:00:00Z"),
        yearly("A", "2026-02-01T00:00:00Z"),
    ]
    check(
        oracle_snapshot(lines),
        {
            "paying_customers": 1,
            "churned_customers": 1,
            "reactivated_customers": 1,
            "churned_mrr": D("100.00"),
            "reactivation_mrr": D("100.00"),
            "net_new_mrr": D("0.00"),
        },
    )


def test_cancellation_effective_now_or_in_the_past_applies_at_once() -> None:
    # W = Mar 10 (from another event); a cancellation occurred Mar 1, effective
    # Mar 5, arrives: applies now, dated Mar 5
    lines = [
        pay("A", "2026-03-01T00:00:00Z", "10.00"),
        tick("2026-03-10T00:00:00Z"),
        cancel("A", "2026-03-01T00:00:00Z", effective="2026-03-05T00:00:00Z"),
    ]
    check(
        oracle_snapshot(lines),
        {"paying_customers": 0, "churned_mrr": D("10.00"), "day": "2026-03-10"},
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
    paid_at: str, extra: dict, still_paying: str, lapsed: str
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


# --------------------------------------------------------------------------
# stale events, duplicates, lateness


def test_stale_payment_changes_nothing_but_counts_as_an_event() -> None:
    lines = [
        pay("A", "2026-01-10T00:00:00Z", "100.00"),
        pay("A", "2026-01-05T00:00:00Z", "300.00"),  # older than changed_at: stale
    ]
    check(
        oracle_snapshot(lines),
        {"mrr": D("100.00"), "expansion_mrr": D("0.00"), "events": 2, "duplicates": 0},
    )


def test_stale_payment_does_not_withdraw_nor_move_the_lapse() -> None:
    lines = [
        pay("A", "2026-01-01T00:00:00Z", "100.00"),  # lapses Feb 15
        cancel("A", "2026-01-10T00:00:00Z", effective="2026-02-01T00:00:00Z"),
        pay("A", "2026-01-09T00:00:00Z", "100.00", interval="year"),  # stale (< Jan 10)
        tick("2026-02-01T00:00:00Z"),
    ]
    check(oracle_snapshot(lines), {"paying_customers": 0, "churned_customers": 1})


def test_stale_cancellation_changes_nothing() -> None:
    lines = [
        yearly("A", "2026-01-10T00:00:00Z"),
        cancel("A", "2026-01-09T00:00:00Z"),  # stale
        tick("2026-01-20T00:00:00Z"),
    ]
    check(oracle_snapshot(lines), {"paying_customers": 1, "events": 3})


def test_equal_time_is_not_stale() -> None:
    lines = [
        pay("A", "2026-01-10T00:00:00Z", "100.00"),
        pay("A", "2026-01-10T00:00:00Z", "150.00"),
    ]
    check(oracle_snapshot(lines), {"mrr": D("150.00"), "expansion_mrr": D("50.00")})


def test_duplicates() -> None:
    lines = [
        pay("A", "2026-03-01T00:00:00Z", "100.00", eid="e1"),
        pay("A", "2026-03-01T00:00:00Z", "100.00", eid="e1"),  # redelivered
        pay("A", "2026-03-02T00:00:00Z", "500.00", eid="e1"),  # same id, other content
        act("A", "u", "2026-03-03T00:00:00Z", eid="e1"),  # same id on another topic
        survey("A", "u", "2026-03-01T00:00:00Z", 11, eid="e2"),  # bad: id not registered
        survey("A", "u", "2026-03-01T00:00:00Z", 10, eid="e2"),  # so this one applies
    ]
    check(
        oracle_snapshot(lines),
        {
            "mrr": D("100.00"),
            "events": 2,
            "duplicates": 3,
            "dead_letters": 1,
            "dau": 0,
            "promoters": 1,
            "as_of": "2026-03-01T00:00:00Z",
        },
    )


def test_ids_are_forgotten_once_their_day_is_older_than_the_lateness() -> None:
    # e1 on Jan 1; with L = 30 days it is forgotten once W - L >= Jan 2 00:00,
    # i.e. W >= Feb 1 00:00
    first = act("A", "u1", "2026-01-01T12:00:00Z", eid="e1")
    kept = [first, tick("2026-01-31T23:59:59Z"), act("A", "u2", "2026-01-31T23:59:59Z", eid="e1")]
    check(oracle_snapshot(kept), {"duplicates": 1, "events": 2, "dau": 1})
    gone = [first, tick("2026-02-01T00:00:00Z"), act("A", "u2", "2026-02-01T00:00:00Z", eid="e1")]
    check(oracle_snapshot(gone), {"duplicates": 0, "events": 3, "dau": 2})


def test_late_events_are_dead_letters() -> None:
    # W = Mar 1 12:00, L = 30 days: late is strictly before Jan 30 12:00
    lines = [
        tick("2026-03-01T12:00:00Z"),
        act("A", "late", "2026-01-30T11:59:59.999999Z", eid="x"),
        act("A", "ok", "2026-01-30T12:00:00Z"),
        act("A", "again", "2026-02-20T00:00:00Z", eid="x"),  # late one left no id
    ]
    check(
        oracle_snapshot(lines),
        {"dead_letters": 1, "events": 3, "duplicates": 0, "mau": 2, "wau": 1},
    )


def test_late_is_checked_before_duplicate_and_first_event_is_never_late() -> None:
    lines = [
        act("A", "u", "2026-01-01T00:00:00Z", eid="a"),
        tick("2026-03-01T00:00:00Z"),
        act("A", "u", "2026-01-01T00:00:00Z", eid="a"),  # late wins over duplicate
    ]
    check(oracle_snapshot(lines), {"dead_letters": 1, "duplicates": 0, "events": 2})


def test_out_of_order_event_counts_on_its_own_day() -> None:
    lines = [
        pay("A", "2026-03-10T00:00:00Z", "10.00"),
        pay("B", "2026-02-15T00:00:00Z", "20.00"),  # 23 days back: in time
        tick("2026-03-16T00:00:00Z"),  # window [Feb 15, Mar 16]
    ]
    check(oracle_snapshot(lines), {"new_mrr": D("30.00"), "new_customers": 2})
    lines[-1] = tick("2026-03-17T00:00:00Z")  # window [Feb 16, Mar 17]
    # (B is paid through Mar 15 and lapses on Mar 29, after W)
    check(
        oracle_snapshot(lines),
        {"new_mrr": D("10.00"), "new_customers": 1, "customers_at_start": 1},
    )


def test_lateness_is_configurable() -> None:
    config = OracleConfig(lateness_days=1)
    lines = [tick("2026-03-10T00:00:00Z"), act("A", "u", "2026-03-08T23:59:59Z")]
    check(oracle_snapshot(lines, config), {"dead_letters": 1, "events": 1})


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


# --------------------------------------------------------------------------
# bad input

GOOD = {"event_id": "e", "occurred_at": "2026-03-01T00:00:00Z", "account_id": "A"}
GOOD_PAYMENT = GOOD | {"amount": "10.00", "currency": "USD"}
GOOD_SURVEY = GOOD | {"user_id": "u", "score": 9}


@pytest.mark.parametrize(
    ("topic", "value"),
    [
        ("payments", GOOD_PAYMENT | {"amount": True}),
        ("payments", GOOD_PAYMENT | {"amount": "NaN"}),
        ("payments", GOOD_PAYMENT | {"amount": "Infinity"}),
        ("payments", GOOD_PAYMENT | {"amount": "-1"}),
        ("payments", GOOD_PAYMENT | {"amount": -0.01}),
        ("payments", GOOD_PAYMENT | {"amount": "abc"}),
        ("payments", GOOD_PAYMENT | {"amount": " 10"}),
        ("payments", GOOD_PAYMENT | {"amount": None}),
        ("payments", {k: v for k, v in GOOD_PAYMENT.items() if k != "amount"}),
        ("payments", GOOD_PAYMENT | {"currency": "usd"}),
        ("payments", GOOD_PAYMENT | {"currency": "EUR"}),  # no rate configured
        ("payments", GOOD_PAYMENT | {"currency": "USDX"}),
        ("payments", GOOD_PAYMENT | {"currency": None}),
        ("payments", GOOD_PAYMENT | {"status": "pending"}),
        ("payments", GOOD_PAYMENT | {"status": "failed", "currency": "XXX"}),
        ("payments", GOOD_PAYMENT | {"kind": "Subscription"}),
        ("payments", GOOD_PAYMENT | {"interval": "months"}),
        ("payments", GOOD_PAYMENT | {"interval_count": 0}),
        ("payments", GOOD_PAYMENT | {"interval_count": 1.0}),
        ("payments", GOOD_PAYMENT | {"interval_count": "1"}),
        ("payments", GOOD_PAYMENT | {"interval_count": True}),
        ("payments", GOOD_PAYMENT | {"plan": 5}),
        ("payments", GOOD_PAYMENT | {"occurred_at": "2026-03-01T00:00:00"}),  # naive
        ("payments", GOOD_PAYMENT | {"occurred_at": "2026-03-01"}),
        ("payments", GOOD_PAYMENT | {"occurred_at": "yesterday"}),
        ("payments", GOOD_PAYMENT | {"occurred_at": 1772323200}),
        ("payments", GOOD_PAYMENT | {"occurred_at": "2026-02-30T00:00:00Z"}),
        ("payments", GOOD_PAYMENT | {"event_id": ""}),
        ("payments", GOOD_PAYMENT | {"event_id": "x" * 129}),
        ("payments", GOOD_PAYMENT | {"event_id": 7}),
        ("payments", GOOD_PAYMENT | {"account_id": None}),
        ("payments", {k: v for k, v in GOOD_PAYMENT.items() if k != "account_id"}),
        ("surveys", GOOD_SURVEY | {"score": 11}),
        ("surveys", GOOD_SURVEY | {"score": -1}),
        ("surveys", GOOD_SURVEY | {"score": 9.0}),
        ("surveys", GOOD_SURVEY | {"score": "9"}),
        ("surveys", GOOD_SURVEY | {"score": True}),
        ("surveys", GOOD_SURVEY | {"user_id": None}),
        ("surveys", GOOD_SURVEY | {"comment": 3}),
        ("activity", GOOD),  # user_id required
        ("activity", GOOD | {"user_id": "u", "action": ["login"]}),
        ("signups", GOOD | {"trial": "true"}),
        ("signups", GOOD | {"trial": 1}),
        ("signups", GOOD | {"channel": 1}),
        ("cancellations", GOOD | {"effective_at": "2026-02-28T23:59:59Z"}),  # before
        ("cancellations", GOOD | {"effective_at": "2026-03-02T00:00:00"}),  # naive
        ("cancellations", GOOD | {"voluntary": "no"}),
        ("cancellations", GOOD | {"reason": 4}),
        ("payments", "not json"),
        ("payments", '{"event_id": "e"'),
        ("payments", "[1, 2]"),
        ("payments", json.dumps(GOOD_PAYMENT).replace('"10.00"', "NaN")),
        ("payments", json.dumps(GOOD_PAYMENT).replace('"10.00"', "1e400")),
        ("payments", [GOOD_PAYMENT]),
        ("payments", 5),
        ("payments", None),
        ("payments", GOOD_PAYMENT | {"status": None}),  # DECISIONS 26
        ("payments", GOOD_PAYMENT | {"interval_count": None}),
        (
            "signups",
            {
                "event_id": "n1",
                "occurred_at": "2026-03-01T00:00:00Z",
                "account_id": "a",
                "trial": None,
            },
        ),
    ],
)
def test_bad_messages_are_dead_letters(topic: str, value: object) -> None:
    result = oracle_snapshot([line(topic, value)])
    check(result, {"dead_letters": 1, "events": 0, "as_of": None, "mrr": D("0.00")})


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'"payments"',
        b'{"topic": "nope", "value": {}}',
        b'{"topic": 5, "value": {}}',
        b'{"value": {}}',
        b'{"topic": "payments"}',
        b'{"topic": "payments", "value": {"a": NaN}}',
        b"\xff\xfe",
    ],
)
def test_bad_replay_lines_are_dead_letters(raw: bytes) -> None:
    check(oracle_snapshot([raw]), {"dead_letters": 1, "events": 0})


@pytest.mark.parametrize(
    ("topic", "value"),
    [
        ("payments", GOOD_PAYMENT | {"unknown": {"nested": [1, 2.5]}}),  # ignored
        ("payments", GOOD_PAYMENT | {"plan": None}),
        ("payments", GOOD_PAYMENT | {"amount": 10}),
        ("payments", GOOD_PAYMENT | {"amount": "10"}),
        ("payments", GOOD_PAYMENT | {"occurred_at": "2026-03-01T01:00:00+01:00"}),
        ("payments", GOOD_PAYMENT | {"occurred_at": "2026-03-01T00:00:00.000000Z"}),
        ("payments", json.dumps(GOOD_PAYMENT)),  # raw message as a string
        ("payments", json.dumps(GOOD_PAYMENT | {"amount": 10.00})),
        ("signups", GOOD | {"trial": True, "user_id": None, "plan": "pro"}),
        ("cancellations", GOOD | {"effective_at": "2026-03-01T00:00:00Z", "reason": None}),
        ("surveys", GOOD_SURVEY | {"score": 0}),
        ("surveys", GOOD_SURVEY | {"score": 10, "comment": None}),
        ("activity", GOOD | {"user_id": "x" * 128, "event_id": "y" * 128}),
    ],
)
def test_good_messages_apply(topic: str, value: object) -> None:
    result = oracle_snapshot([line(topic, value)])
    check(result, {"dead_letters": 0, "events": 1, "as_of": "2026-03-01T00:00:00Z"})


def test_message_size_limit() -> None:
    raw = json.dumps(GOOD_SURVEY)
    size = len(raw.encode())
    at_limit = OracleConfig(max_message_bytes=size)
    check(oracle_snapshot([line("surveys", raw)], at_limit), {"events": 1})
    below = OracleConfig(max_message_bytes=size - 1)
    check(oracle_snapshot([line("surveys", raw)], below), {"dead_letters": 1})
    # an object value is measured as compact JSON
    compact = len(json.dumps(GOOD_SURVEY, separators=(",", ":")).encode())
    exact = OracleConfig(max_message_bytes=compact)
    check(oracle_snapshot([line("surveys", GOOD_SURVEY)], exact), {"events": 1})
    smaller = OracleConfig(max_message_bytes=compact - 1)
    check(oracle_snapshot([line("surveys", GOOD_SURVEY)], smaller), {"dead_letters": 1})


def test_custom_topic_names() -> None:
    config = OracleConfig(topics={"billing": "payment", "clicks": "activity"})
    lines = [
        line("billing", GOOD_PAYMENT),
        line("clicks", GOOD | {"event_id": "f", "user_id": "u"}),
        line("payments", GOOD_PAYMENT | {"event_id": "g"}),  # not an input topic here
    ]
    check(oracle_snapshot(lines, config), {"events": 2, "dead_letters": 1, "dau": 1})


def test_counts_since_the_start() -> None:
    lines = [
        line("payments", GOOD_PAYMENT),
        line("payments", GOOD_PAYMENT),
        line("payments", GOOD_PAYMENT | {"amount": "-5"}),
        b"{",
        tick("2026-06-01T00:00:00Z"),
        act("A", "u", "2026-01-01T00:00:00Z"),  # late
    ]
    check(oracle_snapshot(lines), {"events": 2, "duplicates": 1, "dead_letters": 3})
