"""The aggregate of partitions' views: the figures add up, changes are coalesced, global alerts
wait for every partition."""

from __future__ import annotations

from decimal import Decimal

from state.aggregate import Aggregator, view_of
from state.alerts import AlertRules
from state.config import EngineConfig
from state.engine import Engine
from state.figures import Group
from tests.support.streams import RATES, active, feed, pay, random_stream, tick

CONFIG = EngineConfig()


def aggregator(partitions: int = 1) -> Aggregator:
    return Aggregator(CONFIG.windows, CONFIG.alert_rules, partitions)


def engine_after(events: list[tuple[str, dict[str, object]]]) -> Engine:
    engine = Engine(CONFIG)
    feed(engine, events)
    return engine


def test_nothing_yet_is_nulls_and_no_changes() -> None:
    empty = aggregator()
    snapshot = empty.snapshot()
    assert snapshot["as_of"] is None and snapshot["mrr"] == Decimal("0.00")
    assert empty.changes("now") == [] and empty.alerts() == []


def test_views_add_up_at_the_global_day() -> None:
    one = engine_after([pay("a", 0, "10"), active("a", "u", 0)])
    two = engine_after([pay("b", 5, "20"), active("b", "u", 5)])
    agg = aggregator(2)
    agg.update(0, view_of(one, "e1"))
    agg.update(1, view_of(two, "e2"))
    snapshot = agg.snapshot()
    assert snapshot["day"] == "2026-01-06"  # the latest partition's day
    assert (snapshot["mrr"], snapshot["paying_customers"]) == (Decimal("30.00"), 2)
    assert (snapshot["dau"], snapshot["mau"]) == (1, 2)  # a's user was active 5 days earlier
    assert snapshot["events"] == 4


def test_a_repeated_view_replaces_the_previous_one() -> None:
    engine = engine_after([pay("a", 0, "10")])
    agg = aggregator()
    for _ in range(3):
        agg.update(0, view_of(engine, None))
    assert agg.snapshot()["mrr"] == Decimal("10.00")


def test_changes_are_one_per_metric_caused_by_the_latest_partition() -> None:
    early = engine_after([pay("a", 0, "10")])
    late = engine_after([pay("b", 3, "5")])
    agg = aggregator(2)
    agg.update(0, view_of(early, "from-early"))
    agg.update(1, view_of(late, "from-late"))
    changes = agg.changes("now")
    mrr = [c for c in changes if c.metric == "mrr"]
    assert len(mrr) == 1 and mrr[0].value == Decimal("15.00") and mrr[0].previous == Decimal(0)
    assert {c.cause_event_id for c in changes} == {"from-late"}
    assert agg.changes("now") == []  # nothing moved since
    only = agg.changes("now", Group.MRR, cause="given", latest_cause=False)
    assert only == []


def test_global_alerts_wait_until_every_partition_has_a_view() -> None:
    rules = AlertRules(churn_rate_high=Decimal(0), churn_rate_rearm=Decimal(0))
    events = random_stream(3, in_order=True)
    parts = [Engine(EngineConfig(fx_rates=RATES, alert_rules=rules)) for _ in range(2)]
    for event in events:
        feed(parts[int(str(event[1]["account_id"])[1:]) % 2], [event])
    agg = Aggregator(CONFIG.windows, rules, expected_partitions=2)
    agg.update(0, view_of(parts[0], None))
    assert agg.alerts() == []  # partition 1 has not said where it is
    agg.update(1, view_of(parts[1], None))
    first = agg.alerts()
    assert first and all(a.account_id == "global" for a in first)
    assert agg.alerts() == []  # each day is walked once
    walked = agg.alerts_next_day
    feed(parts[0], [tick(200)])  # one partition moves on: the other has not closed those days
    agg.update(0, view_of(parts[0], None))
    assert agg.alerts() == [] and agg.alerts_next_day == walked
