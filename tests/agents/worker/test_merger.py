"""A partition's topics come out in (timestamp, topic, offset) order, never ahead of data that
could still come first: unread records, or a record of another topic not yet visible."""

from __future__ import annotations

import random

from agents.worker.merger import TopicMerger

TOPICS = ["payments", "activity", "surveys"]
NEVER = lambda topic: False  # noqa: E731  (no topic has unread records)
LATER = 10.0
"""A wall-clock moment long after every push below."""


def merger(wait_ms: float = 0) -> TopicMerger[str]:
    return TopicMerger(TOPICS, wait_ms)


def test_releases_in_timestamp_order_when_nothing_is_unread() -> None:
    m = merger()
    m.push("activity", 3, 0, "a3", 0.0)
    m.push("payments", 1, 0, "p1", 0.0)
    m.push("activity", 5, 1, "a5", 0.0)
    m.push("surveys", 4, 0, "s4", 0.0)
    assert list(m.ready(NEVER, LATER)) == ["p1", "a3", "s4", "a5"]
    assert len(m) == 0


def test_equal_timestamps_go_by_topic_then_offset() -> None:
    m = merger()
    m.push("surveys", 7, 0, "s", 0.0)
    m.push("activity", 7, 4, "a4", 0.0)
    m.push("activity", 7, 3, "a3", 0.0)  # out of offset order within a topic cannot happen,
    m.push("payments", 7, 9, "p", 0.0)  # but the key says which goes first anyway
    released = list(m.ready(NEVER, LATER))
    assert released[0] == "p" and released[-1] == "s"


def test_waits_for_a_topic_with_unread_messages() -> None:
    m = merger()
    m.push("activity", 3, 0, "a3", 0.0)
    m.push("payments", 1, 0, "p1", 0.0)
    unread = {"surveys"}
    assert list(m.ready(lambda topic: topic in unread, LATER)) == []
    m.push("surveys", 2, 0, "s2", 0.0)
    unread.clear()
    assert list(m.ready(lambda topic: topic in unread, LATER)) == ["p1", "s2", "a3"]


def test_a_topic_drained_mid_way_stops_the_release() -> None:
    m = merger()
    m.push("payments", 1, 0, "p1", 0.0)
    m.push("activity", 2, 0, "a2", 0.0)
    m.push("activity", 9, 1, "a9", 0.0)
    # payments has more unread data: p1 may go (its successors come after it), a2 may not.
    assert list(m.ready(lambda topic: topic == "payments", LATER)) == ["p1"]
    m.push("payments", 5, 1, "p5", 0.0)
    assert list(m.ready(lambda topic: topic == "payments", LATER)) == ["a2", "p5"]
    assert list(m.ready(NEVER, LATER)) == ["a9"]


def test_a_record_waits_while_another_topic_may_not_show_its_earlier_append_yet() -> None:
    m = merger(wait_ms=200)
    m.push("payments", 11, 0, "p11", received=5.0)  # seen before the activity record of ts 10
    assert list(m.ready(NEVER, 5.1)) == []  # the other topics are empty: wait
    m.push("activity", 10, 0, "a10", received=5.15)
    assert list(m.ready(NEVER, 5.19)) == []  # a10 is the head now and waits too
    assert list(m.ready(NEVER, 5.36)) == ["a10", "p11"]


def test_no_wait_while_every_topic_has_something_buffered() -> None:
    m = merger(wait_ms=10_000)
    for rank, topic in enumerate(TOPICS):
        m.push(topic, 10 + rank, 0, topic, received=1.0)
    assert list(m.ready(NEVER, 1.0)) == ["payments"]  # then payments is empty: wait


def test_interleaved_delivery_reproduces_the_global_order() -> None:
    rng = random.Random(3)
    stream = [(rng.choice(TOPICS), ts) for ts in range(2000)]
    per_topic = {t: [ts for topic, ts in stream if topic == t] for t in TOPICS}
    m: TopicMerger[int] = TopicMerger(TOPICS)
    position = dict.fromkeys(TOPICS, 0)
    out: list[int] = []
    while any(position[t] < len(per_topic[t]) for t in TOPICS):
        topic = rng.choice([t for t in TOPICS if position[t] < len(per_topic[t])])
        for _ in range(rng.randrange(1, 50)):  # a fetch: a batch of one topic
            if position[topic] < len(per_topic[topic]):
                ts = per_topic[topic][position[topic]]
                m.push(topic, ts, position[topic], ts, 0.0)
                position[topic] += 1
        out.extend(m.ready(lambda t: position[t] < len(per_topic[t]), LATER))
    assert out == [ts for _, ts in stream]
