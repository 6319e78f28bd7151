"""Workers killed mid-stream and workers coming and going: the replay's outputs all the same
(checkpoint, then commit: nothing lost, nothing counted twice; issue 9)."""

from __future__ import annotations

from models.settings import Settings
from tests.support.faults import assert_worker_holds, two_workers_then_the_stream, when_counted
from tests.support.workers import Workers


def test_a_worker_killed_at_several_points_gives_the_replay(
    settings: Settings, group: Workers
) -> None:
    run = two_workers_then_the_stream(settings, group, seed=42, billing=False)  # as before
    for share in (0.15, 0.5, 0.85):  # while the stream is still coming, and near its end
        when_counted(settings, share, len(run.lines), group)
        group.kill(1)
        group.start(1)
    run.producer.finish()
    group.kill(2)  # and once after everything was produced
    group.start(2)
    assert_worker_holds(settings, run.expected, group)


def test_two_then_three_then_two_workers_give_the_replay(
    settings: Settings, group: Workers
) -> None:
    run = two_workers_then_the_stream(settings, group, seed=43)
    when_counted(settings, 0.3, len(run.lines), group)
    group.start(3)
    when_counted(settings, 0.6, len(run.lines), group)
    group.stop(2)
    run.producer.finish()
    assert_worker_holds(settings, run.expected, group)
