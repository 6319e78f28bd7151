"""Where an input partition resumes: a fetch that starts past the next record the partition
needs is sought back to it, a few times, then taken as a gap in the topic."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any, cast

import orjson
import pytest
from faust.types import TP

from agents.serving.telemetry import Telemetry
from agents.worker import partitions as partitions_module
from agents.worker.checkpoints import PartitionState
from agents.worker.faust_compat import RecordBatch
from agents.worker.merger import TopicMerger
from agents.worker.partitions import (
    DRAIN_CHECK_EVERY,
    HELD_HIGH,
    HELD_LOW,
    SEEKS_BEFORE_GAP,
    STALL_S,
    Partitions,
)
from models.settings import Settings
from state.config import EngineConfig
from state.engine import Engine
from state.pipeline import Pipeline

ACTIVITY = TP("activity", 0)


def partitions(
    checkpointed: dict[str, int], highwater: int | None = None, polled_ago_s: float | None = None
) -> Partitions:
    """Partitions with partition 0 restored at `checkpointed` (topic -> last applied offset),
    on a consumer whose end offset for every topic-partition is `highwater`, last polled
    `polled_ago_s` ago (None: never)."""
    polled = None if polled_ago_s is None else (time.time() - polled_ago_s) * 1000
    consumer = SimpleNamespace(highwater=lambda tp: highwater, polled_at=lambda tp: polled)
    app = SimpleNamespace(consumer=consumer, consumer_generation_id=1)
    made = Partitions(
        cast(Any, app), Settings(), EngineConfig(), None, cast(Any, None), Telemetry()
    )
    made.states[0] = PartitionState(0, Engine(EngineConfig()), offsets=dict(checkpointed))
    return made


def batch(first: int, last: int, tp: TP = ACTIVITY) -> RecordBatch:
    records = [SimpleNamespace(offset=o) for o in range(first, last + 1)]
    return RecordBatch(tp, records, generation_id=1, rebalances=1, seeks=0)


@pytest.mark.parametrize(
    ("checkpointed", "received", "first", "resume"),
    [
        ({}, None, 40, None),  # nothing applied yet: wherever the topic starts
        ({"activity": 9}, None, 10, None),  # the next record
        ({"activity": 9}, None, 4, None),  # earlier ones again: applied ones are skipped
        ({"activity": 9}, None, 25, 10),  # past the checkpoint: back to it
        ({"activity": 9}, 30, 31, None),  # the next after what was received
        ({"activity": 9}, 30, 45, 31),  # past what was received
        ({"signups": 3}, None, 7, None),  # another topic's checkpoint says nothing of this one
    ],
)
def test_a_fetch_past_the_next_needed_record_is_sought_back(
    checkpointed: dict[str, int], received: int | None, first: int, resume: int | None
) -> None:
    made = partitions(checkpointed)
    if received is not None:
        made.received[ACTIVITY] = received
    assert made.resume_at(batch(first, first + 5)) == resume


def test_offsets_missing_from_the_topic_are_taken_after_a_few_seeks() -> None:
    made = partitions({"activity": 9})
    assert [made.resume_at(batch(25, 30)) for _ in range(SEEKS_BEFORE_GAP)] == [10] * 3
    assert made.resume_at(batch(25, 30)) is None


def test_a_new_gap_gets_its_own_seeks() -> None:
    made = partitions({"activity": 9})
    assert made.resume_at(batch(25, 30)) == 10
    made.received[ACTIVITY] = 12
    assert made.resume_at(batch(40, 41)) == 13


def test_a_revoked_partition_forgets_its_seeks() -> None:
    made = partitions({"activity": 9})
    for _ in range(SEEKS_BEFORE_GAP):
        made.resume_at(batch(25, 30))
    made.revoke([ACTIVITY])
    made.states[0] = PartitionState(0, Engine(EngineConfig()), offsets={"activity": 9})
    assert made.resume_at(batch(25, 30)) == 10


@pytest.mark.parametrize(
    ("highwater", "received", "unread"),
    [
        (None, None, True),  # not fetched yet
        (20, None, True),  # the checkpoint is at 9: 10-19 to come
        (10, None, False),  # everything up to the checkpoint
        (31, 30, False),  # everything received
        (40, 30, True),
        (0, None, True),  # a broker restarted from an older high watermark: 10 may be hidden
        (25, 30, True),
    ],
)
def test_unread_records_are_assumed_while_the_end_offset_is_unknown_or_behind(
    highwater: int | None, received: int | None, unread: bool
) -> None:
    made = partitions({"activity": 9}, highwater)
    if received is not None:
        made.received[ACTIVITY] = received
    assert made.has_unread(0)("activity") is unread


def stalled_after(made: Partitions, seconds: float) -> list[tuple[TP, int]]:
    """What `stalled` says `seconds` after every topic of partition 0 last delivered."""
    start = time.monotonic()
    for topic in made.input_names:
        made._last_batch[TP(topic, 0)] = start
    return made.stalled(start + seconds)


def test_a_partition_with_records_to_read_and_nothing_coming_is_sought_back() -> None:
    made = partitions({"activity": 9}, highwater=20, polled_ago_s=0.1)
    activity = TP(Settings().topic_activity, 0)
    made.states[0].offsets = {activity.topic: 9}
    sought = stalled_after(made, STALL_S + 1)
    assert (activity, 10) in sought
    assert made.stalled(time.monotonic() + STALL_S + 1.5) == []  # not again at once


@pytest.mark.parametrize(
    ("highwater", "polled_ago_s", "after_s"),
    [
        (20, 0.1, STALL_S - 1),  # not long enough
        (10, 0.1, STALL_S + 1),  # nothing left to read
        (20, None, STALL_S + 1),  # never polled
        (20, 30.0, STALL_S + 1),  # not polled lately: an outage or a full channel
    ],
)
def test_no_seek_while_waiting_is_explained(
    highwater: int, polled_ago_s: float | None, after_s: float
) -> None:
    made = partitions({}, highwater=highwater, polled_ago_s=polled_ago_s)
    made.states[0].offsets = {t: 9 for t in made.input_names}
    assert stalled_after(made, after_s) == []


def _activity_record(offset: int, topic: str) -> SimpleNamespace:
    value = orjson.dumps(
        {
            "event_id": f"e{offset}",
            "account_id": "a",
            "user_id": f"u{offset % 7}",
            "occurred_at": f"2026-03-01T00:{offset // 60 % 60:02d}:{offset % 60:02d}Z",
            "action": "login",
        }
    )
    stamp = 1_772_323_200_000 + offset
    return SimpleNamespace(topic=topic, offset=offset, value=value, timestamp=stamp, key=b"a")


@pytest.mark.parametrize(("budget_s", "applied"), [(60.0, 1000), (-1.0, DRAIN_CHECK_EVERY)])
def test_a_drain_stops_at_its_budget_and_the_next_one_goes_on(
    monkeypatch: pytest.MonkeyPatch, budget_s: float, applied: int
) -> None:
    made = partitions({}, highwater=1000, polled_ago_s=0.0)
    topic = Settings().topic_activity
    made.pipelines[0] = Pipeline(made.states[0].engine, made.decoder)
    merger = made.mergers[0] = TopicMerger(made.input_names)
    for t in made.input_names:  # every topic read to its end (offset 1000)
        made.received[TP(t, 0)] = 999
    for offset in range(1000):
        record = _activity_record(offset, topic)
        merger.push(topic, record.timestamp, offset, record, 0.0)
    monkeypatch.setattr(partitions_module, "DRAIN_BUDGET_S", budget_s)
    made.drain(0)
    assert made.states[0].offsets[topic] == applied - 1
    assert len(merger) == 1000 - applied
    monkeypatch.setattr(partitions_module, "DRAIN_BUDGET_S", 60.0)
    made.drain(0)
    assert made.states[0].offsets[topic] == 999 and not len(merger)
    assert made.states[0].engine.events == 1000


def _hold(made: Partitions, topic: str, count: int) -> None:
    """Make partition 0's merger hold exactly `count` records of `topic`."""
    merger = made.mergers.setdefault(0, TopicMerger(made.input_names))
    while merger.held(topic) > count:
        merger._queues[topic].popleft()
    for offset in range(merger.held(topic), count):
        merger.push(topic, offset, offset, None, 0.0)


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([HELD_HIGH], ([], [])),  # at the bound: fetched on
        ([HELD_HIGH + 1], (["activity"], [])),  # past it: paused
        ([HELD_HIGH + 1, HELD_HIGH + 50], ([], [])),  # paused once, not again
        ([HELD_HIGH + 1, HELD_LOW], ([], [])),  # drained to the low mark: still paused
        ([HELD_HIGH + 1, HELD_LOW - 1], ([], ["activity"])),  # under it: resumed
        ([HELD_HIGH + 1, HELD_LOW - 1, HELD_HIGH], ([], [])),  # resumed, then under the bound
    ],
)
def test_a_topic_partition_the_merger_holds_too_much_of_is_paused_until_drained(
    steps: list[int], expected: tuple[list[str], list[str]]
) -> None:
    """Kafka Streams' `buffered.records.per.partition`: the backlog stays in the broker."""
    made = partitions({}, highwater=10**6, polled_ago_s=0.1)
    topic = Settings().topic_activity
    result: tuple[list[TP], list[TP]] = ([], [])
    for count in steps:
        _hold(made, topic, count)
        result = made.flow()
    names = {"activity": TP(topic, 0)}
    assert result == tuple([names[n] for n in side] for side in expected)
    assert made.flow() == ([], [])  # nothing changed since: nothing to do


def test_a_paused_topic_partition_is_not_sought_back_and_a_revoke_forgets_it() -> None:
    made = partitions({}, highwater=10**6, polled_ago_s=0.1)
    activity = TP(Settings().topic_activity, 0)
    made.states[0].offsets = {t: 9 for t in made.input_names}
    _hold(made, activity.topic, HELD_HIGH + 1)
    assert made.flow() == ([activity], [])
    assert activity not in dict(stalled_after(made, STALL_S + 1))
    made.revoke([activity])
    assert made.paused == set()
