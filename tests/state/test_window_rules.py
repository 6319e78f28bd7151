"""METRICS.md "Time" and "Figures at day D": windows, lateness, duplicates, cohort, NPS."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from state.config import EngineConfig
from state.engine import Engine
from state.figures import Group
from state.outcome import LATE, Outcome, Status
from tests.support.streams import active, at, cancel, feed, pay, run, signup, survey, tick

D = Decimal


def test_empty_engine_has_zeros_and_nulls() -> None:
    snapshot = Engine(EngineConfig()).snapshot()
    assert snapshot["as_of"] is None and snapshot["day"] is None
    assert snapshot["mrr"] == D("0.00") and snapshot["paying_customers"] == 0
    for name in (
        "arpa",
        "customer_churn_rate",
        "gross_mrr_churn_rate",
        "net_mrr_churn_rate",
        "grr",
        "nrr",
        "retention_rate",
        "clv",
        "nps",
        "nps_margin",
    ):
        assert snapshot[name] is None, name
    assert snapshot["stickiness"] == D("0.0000")
    assert snapshot["dau"] == snapshot["mau"] == snapshot["signups"] == 0


def _apply(engine: Engine, event: tuple[str, dict[str, Any]]) -> Outcome:
    (outcome,) = feed(engine, [event])
    return outcome


def test_lateness_edge_is_strict() -> None:
    engine = Engine(EngineConfig(lateness_days=30))
    _apply(engine, tick(40, hour=12))
    on_edge = tick(10, hour=12)  # exactly W - L: not late
    assert _apply(engine, on_edge).rejection is None
    just_behind = (
        "payments",
        {**tick(10)[1], "event_id": "x", "occurred_at": "2026-01-11T11:59:59.999999Z"},
    )
    assert _apply(engine, just_behind).rejection is LATE
    assert engine.dead_letters == 1 and engine.events == 2


def test_duplicate_is_skipped_and_counted() -> None:
    engine = Engine(EngineConfig())
    event = pay("a", 0, "10", event_id="same")
    assert _apply(engine, event).groups & Group.MRR
    again = ("payments", {**event[1], "amount": "99"})  # same id, other content: still a duplicate
    duplicate = _apply(engine, again)
    assert (duplicate.status, duplicate.groups) == (Status.DUPLICATE, Group.COUNTERS)
    snapshot = engine.snapshot()
    assert snapshot["mrr"] == D("10.00") and snapshot["duplicates"] == 1 and snapshot["events"] == 1


def test_forgotten_ids_are_late_anyway() -> None:
    engine = Engine(EngineConfig(lateness_days=5))
    _apply(engine, pay("a", 0, "10", event_id="old"))
    _apply(engine, tick(20))
    assert len(engine.seen) == 1  # only the tick's id is still remembered
    assert _apply(engine, pay("a", 0, "10", event_id="old")).rejection is LATE


@pytest.mark.parametrize(
    ("again_after_hours", "status"),
    [
        (0.5, Status.DUPLICATE),
        (0.99, Status.DUPLICATE),
        (1.0, Status.APPLIED),  # stream time has moved H past it: forgotten
        (1.01, Status.APPLIED),  # inside the expiry batch's slack: forgotten all the same
        (1.5, Status.APPLIED),
    ],
)
def test_activity_ids_are_forgotten_exactly_h_after_they_applied(
    again_after_hours: float, status: Status
) -> None:
    """METRICS.md "Duplicates": the batched expiry never keeps an id past its horizon."""
    engine = Engine(EngineConfig(dedupe_hours=1))
    _apply(engine, active("a", "u", 0, hour=0, event_id="once"))
    later = 1.005 if again_after_hours > 1 else again_after_hours
    _apply(engine, active("a", "other", 0, hour=later, event_id="moves-time"))
    again = _apply(engine, active("a", "u", 0, hour=again_after_hours, event_id="once"))
    assert again.status is status
    if status is Status.APPLIED:
        assert _apply(engine, active("a", "u", 0, hour=1.6, event_id="once")).status is (
            Status.DUPLICATE
        )


@pytest.mark.parametrize(("days_later", "in_window"), [(29, True), (30, False)])
def test_window_edges_d29_in_d30_out(days_later: int, in_window: bool) -> None:
    snapshot = run([pay("a", 0, "50", interval="year"), tick(days_later)]).snapshot()
    assert snapshot["new_customers"] == (1 if in_window else 0)
    assert snapshot["new_mrr"] == (D("4.17") if in_window else D("0.00"))
    assert snapshot["mrr_at_start"] == (D("0.00") if in_window else D("4.17"))
    assert snapshot["customers_at_start"] == (0 if in_window else 1)


def test_starting_cohort_churn_rate_ignores_joiners_who_left() -> None:
    events = [
        *(pay(f"old{i}", 0, "100", interval="year") for i in range(10)),
        pay("joiner", 20, "100", interval="year"),
        cancel("joiner", 40),
        cancel("old1", 41),
        cancel("old2", 42),
        tick(45),
    ]
    snapshot = run(events).snapshot()
    # D = day 45, window [16, 45]: starting cohort = the 10 "old" accounts.
    assert snapshot["customers_at_start"] == 10
    assert snapshot["churned_customers"] == 3
    assert snapshot["customer_churn_rate"] == D("20.00")  # seeds: 10 at start, 2 leave -> 20 %
    # CRR = (E - N) / S literally: the joiner who left is still in N -> (8 - 1) / 10.
    assert snapshot["retention_rate"] == D("70.00")
    assert snapshot["grr"] == D("80.00") and snapshot["nrr"] == D("80.00")
    assert snapshot["mrr_at_start"] == D("83.30")  # 10 x 8.33
    assert snapshot["gross_mrr_churn_rate"] == D("30.00")  # (3 x 8.33) / 83.30
    arpa = snapshot["arpa"]
    assert arpa == D("8.33")
    assert snapshot["clv"] == D("41.65")  # 8.33 / 0.20


def test_nrr_counts_only_the_starting_cohort() -> None:
    events = [
        pay("a", 0, "100"),
        pay("b", 0, "100"),
        pay("a", 29, "150"),  # cohort expansion +50 (renewal inside the window)
        pay("b", 29, "60"),  # cohort contraction -40
        pay("c", 35, "500"),  # new business: not in NRR
        tick(40),
    ]
    snapshot = run(events).snapshot()
    assert snapshot["mrr_at_start"] == D("200.00")
    assert snapshot["nrr"] == D("105.00")  # (200 + 50 - 40) / 200
    assert snapshot["grr"] == D("80.00")  # (200 - 40) / 200
    assert snapshot["net_mrr_churn_rate"] == D("-5.00")  # (0 + 40 - 50 - 0) / 200
    assert snapshot["net_new_mrr"] == D("510.00")


def test_dau_wau_mau_as_days_pass() -> None:
    base = [active("a", "u1", 0), active("a", "u2", 0), active("b", "u1", 3)]
    expected = {  # day -> (dau, wau, mau)
        3: (1, 3, 3),
        6: (0, 3, 3),
        7: (0, 1, 3),
        29: (0, 0, 3),
        30: (0, 0, 1),
        33: (0, 0, 0),
    }
    for day, (dau, wau, mau) in expected.items():
        snapshot = run([*base, tick(day)]).snapshot()
        assert (snapshot["dau"], snapshot["wau"], snapshot["mau"]) == (dau, wau, mau), day


def test_out_of_order_activity_counts_on_its_own_day() -> None:
    snapshot = run([tick(10), active("a", "u1", 8), active("a", "u1", 9, hour=1)]).snapshot()
    assert (snapshot["dau"], snapshot["wau"], snapshot["mau"]) == (0, 1, 1)
    snapshot = run([active("a", "u1", 10), active("a", "u1", 2)]).snapshot()
    assert (snapshot["dau"], snapshot["mau"]) == (1, 1)


def test_stickiness_rounds_to_four_places() -> None:
    events = [
        active("a", "u1", 0),
        active("a", "u2", 0),
        active("a", "u3", 1),
        active("a", "u1", 1),
    ]
    assert run(events).snapshot()["stickiness"] == D("0.6667")


def test_nps_counts_each_respondent_by_latest_response() -> None:
    snapshot = run(
        [survey("a", "u", 0, 3), survey("a", "u", 1, 10), survey("a", "u", 0.5, 0)]
    ).snapshot()
    assert (snapshot["promoters"], snapshot["detractors"], snapshot["nps_responses"]) == (1, 0, 1)
    assert snapshot["nps"] == D("100.0")


def test_nps_worked_example_from_the_seeds() -> None:
    scores = [10] * 50 + [7] * 30 + [5] * 20
    events = [survey("acct", f"u{i}", 0, score) for i, score in enumerate(scores)]
    snapshot = run(events).snapshot()
    assert snapshot["nps"] == D("30.0")
    assert (snapshot["promoters"], snapshot["passives"], snapshot["detractors"]) == (50, 30, 20)
    # n' = 103, p = 50.75/103 = 0.492718, q = 20.75/103 = 0.201456,
    # p + q - (p - q)^2 = 0.609341; / 103 = 0.0059159; sqrt = 0.076915; x 196 = 15.075
    assert snapshot["nps_margin"] == D("15.1")


@pytest.mark.parametrize(("days_later", "counted"), [(89, True), (90, False)])
def test_nps_window_is_90_days(days_later: int, counted: bool) -> None:
    snapshot = run(
        [survey("a", "u", 0, 9), tick(days_later)], EngineConfig(lateness_days=100)
    ).snapshot()
    assert snapshot["nps_responses"] == (1 if counted else 0)
    assert snapshot["nps"] == (D("100.0") if counted else None)


def test_signups_count_first_signup_in_window() -> None:
    events = [signup("a", 0), signup("a", 5), signup("b", 10), signup("b", 2), tick(31)]
    # a's first signup: day 0 (out at D=31); b's first: day 2 (in).
    assert run(events).snapshot()["signups"] == 1
    assert run(events[:-1]).snapshot()["signups"] == 2


def test_as_of_is_stream_time_in_utc() -> None:
    engine = run([active("a", "u", 3, hour=23.5)])
    assert engine.snapshot()["as_of"] == at(3, 23.5)
    engine = run(
        [
            (
                "activity",
                {
                    "event_id": "x",
                    "occurred_at": "2026-01-01T01:00:00+02:00",
                    "account_id": "a",
                    "user_id": "u",
                },
            )
        ]
    )
    assert engine.snapshot()["day"] == "2025-12-31"
