"""Workers started first, then the stream at full speed: the replay's figures, accounts,
series, alert ids and dead letters (METRICS.md "Partitions"; issue 9, items 1-4, 7, 9, 11)."""

from __future__ import annotations

from models.settings import Settings
from tests.support.faults import assert_worker_holds, two_workers_then_the_stream
from tests.support.workers import Workers


def test_two_workers_started_first_give_the_replay(settings: Settings, group: Workers) -> None:
    run = two_workers_then_the_stream(settings, group, seed=41)
    assert {"future", "too_large", "not_json"} <= set(run.expected.dead_letters.values())
    run.producer.finish()
    assert_worker_holds(settings, run.expected, group)
