"""Workers started first, then the stream at full speed: the replay's figures, accounts,
series, alert ids and dead letters (METRICS.md "Partitions"; issue 9, items 1-4, 7, 9, 11)."""

from __future__ import annotations

from agents.kafka.topics import ensure_topics
from models.settings import Settings
from tests.support.faults import Producer, assert_worker_holds, expected_of, fault_stream
from tests.support.workers import Workers


def test_two_workers_started_first_give_the_replay(settings: Settings, group: Workers) -> None:
    lines = fault_stream(settings)
    expected = expected_of(settings, lines)
    assert {"future", "too_large", "not_json"} <= set(expected.dead_letters.values())
    ensure_topics(settings)
    group.start(1)
    group.start(2)
    group.wait_ready(1)
    group.wait_ready(2)
    producer = Producer(lines, settings)
    producer.start()
    producer.finish()
    assert_worker_holds(settings, expected, group)
