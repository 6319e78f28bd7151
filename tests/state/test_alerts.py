"""METRICS.md "Churn alerts", rule by rule, with the edges (thresholds, hysteresis, late events)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from models.outputs import ChurnAlert
from state.alerts import AlertRules, DayClose, GlobalAlerts, alert_id
from state.config import EngineConfig
from state.engine import Engine
from state.outcome import Status
from tests.support.streams import active, cancel, feed, pay, run, survey, tick

Stream = list[tuple[str, dict[str, Any]]]


def alerts_of(events: Stream, config: EngineConfig | None = None) -> list[ChurnAlert]:
    return run(events, config).alerts


def rules(alerts: list[ChurnAlert]) -> list[tuple[str, str, str]]:
    return [(a.rule, a.account_id, a.severity) for a in alerts]


W, C = "warning", "critical"

# (id, events, expected (rule, account, severity) in order)
ACCOUNT_CASES: list[tuple[str, Stream, list[tuple[str, str, str]]]] = [
    (
        "failed subscription payment on a paying account",
        [pay("a", 0, "50"), pay("a", 30, "50", status="failed")],
        [("payment_failed", "a", W)],
    ),
    ("failed payment of a prospect", [pay("a", 0, "50", status="failed")], []),
    (
        "failed one-time payment",
        [pay("a", 0, "50"), pay("a", 1, "9", status="failed", kind="one_time")],
        [],
    ),
    (
        "cancellation effective later",
        [pay("a", 0, "50"), cancel("a", 3, effective_day=20)],
        [("cancellation_scheduled", "a", W)],
    ),
    (
        "scheduled cancellation then its effect",
        [pay("a", 0, "50"), cancel("a", 3, effective_day=20), tick(21)],
        [("cancellation_scheduled", "a", W), ("account_churned", "a", W)],
    ),
    (
        "immediate cancellation churns without a schedule",
        [pay("a", 0, "50"), cancel("a", 3)],
        [("account_churned", "a", W)],
    ),
    (
        "churn at exactly the critical MRR is critical",
        [pay("a", 0, "500"), cancel("a", 3)],
        [("account_churned", "a", C)],
    ),
    (
        "churn just under the critical MRR is a warning",
        [pay("a", 0, "499.99"), cancel("a", 3)],
        [("account_churned", "a", W)],
    ),
    (
        "lapse after the grace period",
        [pay("a", 0, "50"), tick(31 + 14 + 1)],
        [("account_churned", "a", W)],
    ),
    (
        "contraction of exactly 50 %",
        [pay("a", 0, "100"), pay("a", 1, "50")],
        [("downgrade", "a", W)],
    ),
    ("contraction of 49 %", [pay("a", 0, "100"), pay("a", 1, "51")], []),
    ("expansion", [pay("a", 0, "100"), pay("a", 1, "300")], []),
    (
        "price 0 is churn, not a downgrade",
        [pay("a", 0, "100"), pay("a", 1, "0")],
        [("account_churned", "a", W)],
    ),
    (
        "detractor (6) on a paying account",
        [pay("a", 0, "50"), survey("a", "u", 1, 6)],
        [("detractor", "a", W)],
    ),
    ("passive (7)", [pay("a", 0, "50"), survey("a", "u", 1, 7)], []),
    ("detractor of a prospect", [survey("a", "u", 1, 0)], []),
    (
        "an older detractor answer than the latest is not news",
        [pay("a", 0, "50"), survey("a", "u", 5, 9), survey("a", "u", 4, 2)],
        [],
    ),
    (
        "no activity for exactly 14 days",
        [pay("a", 0, "50"), active("a", "u", 1), tick(15)],
        [("usage_drop", "a", W)],
    ),
    (
        "no activity for just under 14 days",
        [pay("a", 0, "50"), active("a", "u", 1), tick(14.99, hour=11)],
        [],
    ),
    (
        "activity moves the check",
        [pay("a", 0, "50"), active("a", "u", 1), active("a", "u", 10), tick(15), tick(23)],
        [],
    ),
    (
        "activity moves the check, which then fires",
        [pay("a", 0, "50"), active("a", "u", 1), active("a", "u", 10), tick(24)],
        [("usage_drop", "a", W)],
    ),
    (
        "one usage alert per quiet spell",
        [pay("a", 0, "50"), active("a", "u", 1), tick(15), tick(25), tick(28)],
        [("usage_drop", "a", W)],
    ),
    ("inactive prospect", [active("a", "u", 1), tick(20)], []),
    (
        "a late event raises nothing (it is a dead letter)",
        [pay("a", 0, "50"), tick(40), survey("a", "u", 5, 0)],
        [],
    ),
    (
        "a redelivered event raises nothing twice",
        [pay("a", 0, "50"), *[survey("a", "u", 1, 3, event_id="s1")] * 2],
        [("detractor", "a", W)],
    ),
]


@pytest.mark.parametrize(
    ("events", "expected"), [c[1:] for c in ACCOUNT_CASES], ids=[c[0] for c in ACCOUNT_CASES]
)
def test_account_rules(events: Stream, expected: list[tuple[str, str, str]]) -> None:
    assert rules(alerts_of(events)) == expected


def test_facts_say_why() -> None:
    [churned] = alerts_of([pay("a", 0, "120"), cancel("a", 3)])
    assert churned.facts["mrr"] == Decimal("120") and churned.facts["reason"] == "cancelled"
    assert churned.facts["paying_since"] == "2026-01-01"
    [quiet] = alerts_of([pay("a", 0, "50"), active("a", "u", 1), tick(16)])
    assert quiet.facts["days_without_activity"] == 14
    assert quiet.facts["last_active"] == "2026-01-02T12:00:00Z"
    [down] = alerts_of([pay("a", 0, "100"), pay("a", 1, "40")])
    assert down.facts["drop_percent"] == Decimal("60.0") and down.facts["mrr"] == Decimal("40")
    [detractor] = alerts_of([pay("a", 0, "50"), survey("a", "u", 1, 2)])
    assert detractor.facts["score"] == 2 and detractor.facts["user_id"] == "u"


def test_thresholds_come_from_the_config() -> None:
    config = EngineConfig(alert_rules=AlertRules(usage_drop_days=3, downgrade_ratio=Decimal("0.2")))
    stream = [pay("a", 0, "100"), pay("a", 1, "75"), active("a", "u", 1), tick(4)]
    assert rules(alerts_of(stream, config)) == [("downgrade", "a", W), ("usage_drop", "a", W)]
    assert rules(alerts_of(stream)) == []


def test_ids_are_deterministic_and_name_the_cause() -> None:
    stream = [pay("a", 0, "50", event_id="p1"), survey("a", "u", 1, 1, event_id="s1")]
    first, second = alerts_of(stream), alerts_of(stream)
    assert [a.alert_id for a in first] == [a.alert_id for a in second]
    assert first[0].alert_id == alert_id("detractor", "a", "s1")
    assert alert_id("detractor", "a", "s1") != alert_id("detractor", "a", "s2")


def _closes(*rows: tuple[int, int, int, int, int]) -> list[DayClose]:
    return [DayClose(*row) for row in rows]


# churn rate = churned / at_start x 100; threshold 5, re-armed at 4 or below
CHURN_CASES = [
    ("exactly at the threshold does not fire", [(1, 20)], []),
    ("above fires", [(2, 20)], [0]),
    ("staying above fires once", [(2, 20), (3, 20), (4, 20)], [0]),
    ("between re-arm and threshold stays disarmed", [(2, 20), (1, 21), (2, 20)], [0]),
    ("falling to the re-arm level re-arms", [(2, 20), (1, 25), (2, 20)], [0, 2]),
    ("no customers: no rate, no change", [(0, 0), (2, 20)], [1]),
]


@pytest.mark.parametrize(
    ("days", "fired_on"), [c[1:] for c in CHURN_CASES], ids=[c[0] for c in CHURN_CASES]
)
def test_churn_rate_high_fires_on_crossing_with_hysteresis(
    days: list[tuple[int, int]], fired_on: list[int]
) -> None:
    watcher = GlobalAlerts(AlertRules())
    fired = []
    for day, (churned, at_start) in enumerate(days):
        for alert in watcher.close(day, DayClose(churned, at_start, 0, 0, 0)):
            assert alert.rule == "churn_rate_high" and alert.severity == "critical"
            fired.append(day)
    assert fired == fired_on


# nps = (promoters - detractors) / responses x 100; threshold 0, re-armed at 10 or above
NPS_CASES = [
    ("exactly at the threshold does not fire", [(1, 1, 2)], []),
    ("below fires", [(0, 1, 2)], [0]),
    ("staying below fires once", [(0, 1, 2), (0, 2, 2)], [0]),
    ("recovering to 9.x stays disarmed", [(0, 1, 2), (2, 1, 11), (0, 1, 2)], [0]),
    ("recovering to 10 re-arms", [(0, 1, 2), (1, 0, 10), (0, 1, 2)], [0, 2]),
]


@pytest.mark.parametrize(
    ("days", "fired_on"), [c[1:] for c in NPS_CASES], ids=[c[0] for c in NPS_CASES]
)
def test_nps_low_fires_on_crossing_with_hysteresis(
    days: list[tuple[int, int, int]], fired_on: list[int]
) -> None:
    watcher = GlobalAlerts(AlertRules())
    fired = []
    for day, (promoters, detractors, responses) in enumerate(days):
        for alert in watcher.close(day, DayClose(0, 0, promoters, detractors, responses)):
            assert alert.rule == "nps_low" and alert.account_id == "global"
            fired.append(day)
    assert fired == fired_on


def test_partitions_day_closes_add_up_to_the_global_walk() -> None:
    """Two partitions' histories summed day by day fire what one history with the sums fires."""
    one = {0: DayClose(1, 10, 0, 0, 0), 1: DayClose(1, 10, 0, 1, 1)}
    two = {1: DayClose(1, 10, 0, 0, 0), 2: DayClose(0, 0, 0, 0, 0)}
    summed = {0: DayClose(1, 10, 0, 0, 0), 1: DayClose(2, 20, 0, 1, 1), 2: DayClose(0, 0, 0, 0, 0)}
    split = GlobalAlerts(AlertRules()).catch_up([one, two], 2)
    whole = GlobalAlerts(AlertRules()).catch_up([summed], 2)
    assert [a.alert_id for a in split] == [a.alert_id for a in whole]
    assert [(a.rule, a.facts["day"]) for a in whole] == [
        ("churn_rate_high", "1970-01-01"),
        ("nps_low", "1970-01-02"),
    ]


def close_on(closes: dict[int, DayClose], day: int) -> DayClose:
    """A day's close from the change points the engine records (the last one at or before)."""
    before = [d for d in closes if d <= day]
    return closes[max(before)] if before else DayClose(0, 0, 0, 0, 0)


def test_engine_records_each_day_it_leaves_where_its_close_changes() -> None:
    engine = Engine(EngineConfig())
    stream = [pay("a", 0, "50"), pay("a", 31, "50"), cancel("a", 35, effective_day=40), tick(43)]
    feed(engine, stream)
    closes = engine.day_closes
    day0 = engine.day - 43 if engine.day is not None else 0
    dense = [close_on(closes, day0 + d) for d in range(43)]
    assert dense[:30] == [DayClose(0, 0, 0, 0, 0)] * 30  # paying since day 0: not yet at start
    assert dense[30:40] == [DayClose(0, 1, 0, 0, 0)] * 10
    # the scheduled cancellation (day 40, noon) is in day 40's close, though no event came that day
    assert dense[40] == DayClose(1, 1, 0, 0, 0)
    assert len(closes) < 5  # a change point per change, not an entry per day


def test_a_jump_of_centuries_costs_the_kept_days_not_the_gap() -> None:
    engine = Engine(EngineConfig())
    feed(engine, [pay("a", 0, "50"), survey("a", "u", 1, 3)])
    far = ("activity", {"event_id": "far", "occurred_at": "9999-12-31T23:00:00Z",
                        "account_id": "b", "user_id": "u"})  # fmt: skip
    (outcome,) = feed(engine, [far])
    assert outcome.status is Status.APPLIED
    assert engine.ledger.mrr == 0  # the account lapsed in the gap
    assert [a.rule for a in outcome.alerts] == ["account_churned"]
    assert len(engine.day_closes) < 10
