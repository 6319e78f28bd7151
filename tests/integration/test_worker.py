"""Real workers on a real broker and Redis give the replay's figures, crash or no crash."""

from __future__ import annotations

import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import orjson

from agents.embedded.replay import replay_lines
from agents.kafka.producer import produce_lines
from agents.kafka.topics import ensure_topics
from agents.serving.tables import table_rows
from models.settings import Settings
from models.tables import CohortRow, MonthRow
from tests.support.workers import (
    Workers,
    message_total,
    read_all,
    redis_metrics,
    redis_table,
    replayed,
    wait_for_figures,
    wait_until,
    worker_settings,
    world,
)


def test_two_workers_over_four_partitions_give_the_replay_figures(
    fresh_names: Settings, workers: Workers
) -> None:
    settings = worker_settings(fresh_names)
    lines = world(settings, seed=11, accounts=80, days=150, billing=False)  # as before BILLING.md
    expected, dead, _ = replayed(settings, lines)
    assert expected["dead_letters"] > 0 and expected["duplicates"] > 0
    ensure_topics(settings)
    summary = produce_lines(lines, settings)
    assert summary.total == len(lines)

    workers.start(1)
    workers.start(2)
    wait_for_figures(settings, expected, workers)
    by_partitions = replay_lines(lines, settings, partitions=settings.topic_partitions)
    tables: list[tuple[str, Sequence[MonthRow | CohortRow]]] = [
        ("months", by_partitions.months()), ("cohorts", by_partitions.cohorts()),
    ]  # fmt: skip
    for name, rows in tables:
        want = orjson.loads(table_rows(rows))
        assert want, name

        def written(name: str = name, want: Any = want) -> bool:
            return bool(redis_table(settings, name) == want)

        wait_until(written, f"the {name} table in Redis", tail=workers.tail)

    last: dict[str, Any] = {}
    currencies: dict[str, set[str | None]] = {}
    for message in read_all(settings, settings.topic_metric_changes):
        record = orjson.loads(message.value)
        last[record["metric"]] = record["value"]
        currencies.setdefault(record["metric"], set()).add(record["currency"])
    assert currencies["mrr"] == {expected["currency"]} and currencies["dau"] == {None}
    for name, value in expected.items():
        if name in ("as_of", "day", "currency"):  # not figures: no metric changes
            continue
        got = last.get(name, "unchanged")
        if got == "unchanged":  # never changed from its initial value (0 or null)
            assert value in (None, 0), name
        else:
            assert (None if got is None else Decimal(str(got))) == value, name

    letters = {}
    for message in read_all(settings, settings.topic_dead_letters):
        record = orjson.loads(message.value)
        letters[(record["topic"], record["partition"], record["offset"])] = record
    assert sorted(r["raw"] for r in letters.values()) == sorted(d["raw"] for d in dead)
    by_type: dict[str, int] = {}
    for record in letters.values():
        by_type[record["error"]["type"]] = by_type.get(record["error"]["type"], 0) + 1
    expected_types: dict[str, int] = {}
    for record in dead:
        expected_types[record["error"]["type"]] = expected_types.get(record["error"]["type"], 0) + 1
    assert by_type == expected_types


def test_a_worker_killed_with_sigkill_recovers_without_double_counting(
    fresh_names: Settings, workers: Workers
) -> None:
    settings = worker_settings(fresh_names)
    lines = world(settings, seed=12, accounts=120, days=150)
    half = len(lines) // 2
    expected_half, _, _ = replayed(settings, lines[:half])
    expected, _, _ = replayed(settings, lines)
    ensure_topics(settings)
    produce_lines(lines[:half], settings)

    workers.start(1)
    wait_for_figures(settings, expected_half, workers)
    workers.kill(1)  # after a checkpoint or not: whatever the kill interrupts

    produce_lines(lines[half:], settings)
    workers.start(1)
    half_total = message_total({k: str(v) for k, v in expected_half.items()})
    wait_until(
        lambda: message_total(redis_metrics(settings)) > half_total,
        "the restarted worker to count new messages",
        tail=workers.tail,
    )
    workers.kill(1)  # mid-stream: some events applied since the last checkpoint are lost
    workers.start(1)
    wait_for_figures(settings, expected, workers)


def test_a_quiet_topic_after_a_restart_holds_nothing_back(
    fresh_names: Settings, workers: Workers
) -> None:
    """Issue 9, item 8: after a restart, the topics of a partition that get nothing new (all
    but `activity` here) are not unread: new activity events are counted with nothing
    arriving on the others."""
    settings = worker_settings(fresh_names)
    lines = world(settings, seed=13, accounts=40, days=60)
    expected, _, _ = replayed(settings, lines)
    ensure_topics(settings)
    produce_lines(lines, settings)
    workers.start(1)
    wait_for_figures(settings, expected, workers)
    workers.stop(1)
    workers.start(1)
    workers.wait_ready(1)

    first = orjson.loads(lines[0])
    account = str(first["value"]["account_id"])
    new = [
        orjson.dumps({"topic": settings.topic_activity, "key": account, "value": {
            "event_id": f"after-restart-{n}", "occurred_at": expected["as_of"],
            "account_id": account, "user_id": f"after-restart-{n}",
        }})
        for n in range(20)
    ]  # fmt: skip
    after, _, _ = replayed(settings, lines + new)
    assert after["events"] == expected["events"] + 20
    sent = time.monotonic()
    produce_lines(new, settings)
    wait_for_figures(settings, after, workers)
    print(f"20 events after the restart counted within {time.monotonic() - sent:.2f}s")
