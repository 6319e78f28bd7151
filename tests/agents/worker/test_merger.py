"""Messages of a partition's topics come out in append order, never ahead of unread data."""

from __future__ import annotations

import random

from agents.worker.merger import TopicMerger

TOPICS = ["payments", "activity", "surveys"]


def test_releases_in_timestamp_order_when_nothing_is_unread() -> None:
    merger: TopicMerger[str] = TopicMerger(TOPICS)
    merger.push("activity", 3, "a3")
    merger.push("payments", 1, "p1")
    merger.push("activity", 5, "a5")
    merger.push("surveys", 4, "s4")
    assert list(merger.ready(lambda topic: False)) == ["p1", "a3", "s4", "a5"]
    assert len(merger) == 0


def test_waits_for_a_topic_with_unread_messages() -> None:
    merger: TopicMerger[str] = TopicMerger(TOPICS)
    merger.push("activity", 3, "a3")
    merger.push("payments", 1, "p1")
    unread = {"surveys"}
    assert list(merger.ready(lambda topic: topic in unread)) == []
    merger.push("surveys", 2, "s2")
    unread.clear()
    assert list(merger.ready(lambda topic: topic in unread)) == ["p1", "s2", "a3"]


def test_a_topic_drained_mid_way_stops_the_release() -> None:
    merger: TopicMerger[str] = TopicMerger(TOPICS)
    merger.push("payments", 1, "p1")
    merger.push("activity", 2, "a2")
    merger.push("activity", 9, "a9")
    # payments has more unread data: p1 may go (its successors come after it), a2 may not.
    assert list(merger.ready(lambda topic: topic == "payments")) == ["p1"]
    merger.push("payments", 5, "p5")
    assert list(merger.ready(lambda topic: topic == "payments")) == ["a2", "p5"]
    assert list(merger.ready(lambda topic: False)) == ["a9"]


def test_interleaved_delivery_reproduces_the_global_order() -> None:
    rng = random.Random(3)
    stream = [(rng.choice(TOPICS), ts) for ts in range(2000)]
    per_topic = {t: [ts for topic, ts in stream if topic == t] for t in TOPICS}
    merger: TopicMerger[int] = TopicMerger(TOPICS)
    position = dict.fromkeys(TOPICS, 0)
    out: list[int] = []
    while any(position[t] < len(per_topic[t]) for t in TOPICS):
        topic = rng.choice([t for t in TOPICS if position[t] < len(per_topic[t])])
        for _ in range(rng.randrange(1, 50)):  # a fetch: a batch of one topic
            if position[topic] < len(per_topic[topic]):
                merger.push(
                    topic, per_topic[topic][position[topic]], per_topic[topic][position[topic]]
                )
                position[topic] += 1
        out.extend(merger.ready(lambda t: position[t] < len(per_topic[t])))
    assert out == [ts for _, ts in stream]
