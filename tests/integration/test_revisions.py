"""A late event that changes a reported closed day is published as a restatement, on
`metric-revisions` and in the Redis stream `growth:revisions`, once."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from typing import Any

import orjson
import redis

from agents.kafka.producer import produce_lines
from agents.kafka.topics import ensure_topics
from agents.serving.series import PAST_DAYS_REFRESH_S
from models.settings import Settings
from tests.support.workers import (
    Workers,
    read_all,
    redis_hash,
    redis_metrics,
    wait_until,
    worker_settings,
)


def _line(settings: Settings, topic: str, **value: Any) -> bytes:
    names = {"activity": settings.topic_activity, "payments": settings.topic_payments}
    return orjson.dumps({"topic": names[topic], "key": value["account_id"], "value": value})


def _active(settings: Settings, event_id: str, user: str, day: int) -> bytes:
    return _line(
        settings, "activity", event_id=event_id, occurred_at=f"2026-01-{day:02d}T12:00:00Z",
        account_id="a1", user_id=user,
    )  # fmt: skip


def _revisions(settings: Settings) -> list[dict[str, str]]:
    client = redis.Redis.from_url(settings.redis_url.get_secret_value(), decode_responses=True)
    try:
        entries = client.xrange(f"{settings.redis_prefix}revisions")
    finally:
        client.close()
    return [dict(fields) for _, fields in entries]  # type: ignore[union-attr, arg-type]


def _dau(settings: Settings, day: str) -> str | None:
    return redis_hash(settings, "series:dau").get(day)


def test_a_late_event_restates_a_reported_day_once(fresh_names: Settings, workers: Workers) -> None:
    settings = worker_settings(fresh_names)
    ensure_topics(settings)
    lines = [_active(settings, f"e{day}", "u1", day) for day in range(1, 11)]
    workers.start(1)
    workers.wait_ready(1)
    produce_lines(lines, settings)
    wait_until(
        lambda: redis_metrics(settings).get("events") == "10", "ten events", tail=workers.tail
    )
    wait_until(lambda: _dau(settings, "2026-01-08") == "1", "day 8 written", tail=workers.tail)
    # day 8 is reported once every partition has closed it (the idle ones follow the
    # global time after idle_ms) and a refresh of the past days wrote it since
    time.sleep(settings.idle_ms / 1000 + PAST_DAYS_REFRESH_S + 2)
    produce_lines([_active(settings, "late", "u2", 8)], settings)
    wait_until(lambda: _dau(settings, "2026-01-08") == "2", "day 8 restated", tail=workers.tail)
    revisions = wait_until(lambda: _revisions(settings) or None, "a restatement", tail=workers.tail)
    dau = [r for r in revisions if r["metric"] == "dau"]
    assert [(r["day"], r["previous"], r["value"]) for r in dau] == [("2026-01-08", "1", "2")]
    assert dau[0]["cause_event_id"] == "late"
    assert dau[0]["currency"] == ""
    assert {r["day"] for r in revisions} <= {f"2026-01-{d:02d}" for d in range(8, 11)}
    kafka = [
        json.loads(m.value, parse_float=Decimal)
        for m in read_all(settings, settings.topic_metric_revisions)
    ]
    in_kafka = sorted(
        (k["metric"], k["day"], _number(k["previous"]), _number(k["value"])) for k in kafka
    )  # the topic's partitions (keyed by metric) keep no order between metrics
    in_redis = sorted(
        (r["metric"], r["day"], _number(r["previous"]), _number(r["value"])) for r in revisions
    )
    assert in_kafka == in_redis


def _number(value: object) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))
