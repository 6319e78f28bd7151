"""Workers killed mid-stream and workers coming and going: the replay's outputs all the same
(checkpoint, then commit: nothing lost, nothing counted twice; issue 9)."""

from __future__ import annotations

from agents.kafka.topics import ensure_topics
from models.settings import Settings
from tests.support.faults import (
    Producer,
    assert_worker_holds,
    expected_of,
    fault_stream,
    when_counted,
)
from tests.support.workers import Workers


def test_a_worker_killed_at_several_points_gives_the_replay(
    settings: Settings, group: Workers
) -> None:
    lines = fault_stream(settings, seed=42)
    expected = expected_of(settings, lines)
    ensure_topics(settings)
    group.start(1)
    group.start(2)
    group.wait_ready(1)
    group.wait_ready(2)
    producer = Producer(lines, settings)
    producer.start()
    for share in (0.15, 0.5, 0.85):  # while the stream is still coming, and near its end
        when_counted(settings, share, len(lines), group)
        group.kill(1)
        group.start(1)
    producer.finish()
    group.kill(2)  # and once after everything was produced
    group.start(2)
    assert_worker_holds(settings, expected, group)


def test_two_then_three_then_two_workers_give_the_replay(
    settings: Settings, group: Workers
) -> None:
    lines = fault_stream(settings, seed=43)
    expected = expected_of(settings, lines)
    ensure_topics(settings)
    group.start(1)
    group.start(2)
    group.wait_ready(1)
    group.wait_ready(2)
    producer = Producer(lines, settings)
    producer.start()
    when_counted(settings, 0.3, len(lines), group)
    group.start(3)
    when_counted(settings, 0.6, len(lines), group)
    group.stop(2)
    producer.finish()
    assert_worker_holds(settings, expected, group)
