"""Churn alerts: two workers over four partitions raise the same alerts as the replay."""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

import orjson
import redis

from agents.kafka.producer import produce_lines
from agents.kafka.topics import ensure_topics
from models.settings import Settings
from tests.support.workers import (
    Workers,
    read_all,
    replayed,
    wait_for_figures,
    wait_until,
    worker_settings,
    world,
)


def _redis_alert_ids(settings: Settings) -> set[str]:
    client = redis.Redis.from_url(settings.redis_url.get_secret_value(), decode_responses=True)
    try:
        entries = client.xrange(f"{settings.redis_prefix}alerts")
    finally:
        client.close()
    return {orjson.loads(fields["alert"])["alert_id"] for _id, fields in entries}  # type: ignore[index, union-attr]


def test_worker_alerts_are_the_replay_alerts(fresh_names: Settings, workers: Workers) -> None:
    thresholds = {  # low enough for this small world to cross them (each rule fires)
        "alert_churn_rate_high": Decimal("1.5"), "alert_churn_rate_rearm": Decimal(1),
        "alert_nps_low": Decimal(20), "alert_nps_rearm": Decimal(30),
    }  # fmt: skip
    settings = worker_settings(fresh_names).model_copy(update=thresholds)
    workers.env.update({f"GROWTH_{name.upper()}": str(value) for name, value in thresholds.items()})
    lines = world(settings, seed=13, accounts=150, days=150)
    snapshot, _, alerts = replayed(settings, lines)
    expected = {a["alert_id"]: a for a in alerts}
    assert len(expected) == len(alerts)
    rules = {a["rule"] for a in alerts}
    assert {"payment_failed", "account_churned", "detractor", "usage_drop"} <= rules, rules
    assert {"churn_rate_high", "nps_low"} <= rules, rules

    ensure_topics(settings)
    produce_lines(lines, settings)
    workers.start(1)
    workers.start(2)
    wait_for_figures(settings, snapshot, workers)

    published: dict[str, dict[str, Any]] = {}

    def all_published() -> bool:
        published.clear()
        for message in read_all(settings, settings.topic_churn_alerts):
            record = orjson.loads(message.value)
            published[record["alert_id"]] = record
        return set(published) >= set(expected) and _redis_alert_ids(settings) >= set(expected)

    with contextlib.suppress(AssertionError):  # the comparison below says which are missing
        wait_until(all_published, "every replayed alert in Kafka and Redis")
    missing = sorted(expected[i]["rule"] for i in set(expected) - set(published))
    extra = sorted(published[i]["rule"] for i in set(published) - set(expected))
    assert (missing, extra) == ([], []), workers.tail()
    assert _redis_alert_ids(settings) == set(expected)
    for alert_id, record in expected.items():
        got = published[alert_id]
        assert (got["rule"], got["account_id"], got["severity"], got["as_of"]) == (
            record["rule"], record["account_id"], record["severity"], record["as_of"],
        )  # fmt: skip
