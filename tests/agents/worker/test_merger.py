"""A partition's topics come out in (timestamp, topic, offset) order, never ahead of data that
could still come first: unread records, or a record of another topic not yet visible."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from agents.worker.merger import Blocked, TopicMerger

TOPICS = ["payments", "activity", "surveys"]


def never(topic: str, arrival: float) -> bool:
    """No topic can deliver anything earlier than what is buffered."""
    return False


def unread(topics: set[str]) -> Blocked:
    return lambda topic, arrival: topic in topics


def merger() -> TopicMerger[str]:
    return TopicMerger(TOPICS)


def test_releases_in_timestamp_order_when_nothing_is_unread() -> None:
    m = merger()
    m.push("activity", 3, 0, "a3", 0.0)
    m.push("payments", 1, 0, "p1", 0.0)
    m.push("activity", 5, 1, "a5", 0.0)
    m.push("surveys", 4, 0, "s4", 0.0)
    assert list(m.ready(never)) == ["p1", "a3", "s4", "a5"]
    assert len(m) == 0


def test_held_counts_each_topics_waiting_records() -> None:
    m = merger()
    for offset in range(3):
        m.push("activity", 10 + offset, offset, f"a{offset}", 0.0)
    m.push("payments", 20, 0, "p0", 0.0)
    assert [m.held(t) for t in TOPICS] == [1, 3, 0]
    assert list(m.ready(unread({"surveys"}))) == []
    assert list(m.ready(never)) == ["a0", "a1", "a2", "p0"]
    assert [m.held(t) for t in TOPICS] == [0, 0, 0]


def test_equal_timestamps_go_by_topic_then_offset() -> None:
    m = merger()
    m.push("surveys", 7, 0, "s", 0.0)
    m.push("activity", 7, 3, "a3", 0.0)
    m.push("activity", 7, 4, "a4", 0.0)
    m.push("payments", 7, 9, "p", 0.0)
    assert list(m.ready(never)) == ["p", "a3", "a4", "s"]


def test_waits_for_a_topic_with_unread_messages() -> None:
    m = merger()
    m.push("activity", 3, 0, "a3", 0.0)
    m.push("payments", 1, 0, "p1", 0.0)
    assert list(m.ready(unread({"surveys"}))) == []
    m.push("surveys", 2, 0, "s2", 0.0)
    assert list(m.ready(unread(set()))) == ["p1", "s2", "a3"]


def test_a_topic_drained_mid_way_stops_the_release() -> None:
    m = merger()
    m.push("payments", 1, 0, "p1", 0.0)
    m.push("activity", 2, 0, "a2", 0.0)
    m.push("activity", 9, 1, "a9", 0.0)
    # payments has more unread data: p1 may go (its successors come after it), a2 may not.
    assert list(m.ready(unread({"payments"}))) == ["p1"]
    m.push("payments", 5, 1, "p5", 0.0)
    assert list(m.ready(unread({"payments"}))) == ["a2", "p5"]
    assert list(m.ready(never)) == ["a9"]


def test_a_record_waits_until_every_empty_topic_is_known_newer_than_its_arrival() -> None:
    polled = {"activity": 4.0, "surveys": 9.0}  # when each topic's end offset was last seen
    m = merger()
    m.push("payments", 11, 0, "p11", 5.0)  # arrived at 5.0, before the activity append showed

    def stale(topic: str, arrival: float) -> bool:
        return polled[topic] <= arrival

    assert list(m.ready(stale)) == []  # activity was last looked at before p11 arrived
    m.push("activity", 10, 0, "a10", 5.5)  # the earlier record shows up
    assert list(m.ready(stale)) == ["a10"]  # then activity is empty again, seen at 4.0 ...
    polled["activity"] = 7.0
    assert list(m.ready(stale)) == ["p11"]  # ... and now after p11's arrival (5.0)


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
        out.extend(m.ready(lambda t, _arrival: position[t] < len(per_topic[t])))
    assert out == [ts for _, ts in stream]


def _reference_ready(
    queues: dict[str, list[tuple[int, int, int, float, str]]], blocked: Blocked
) -> list[str]:
    """The merge rule spelled out: the smallest (timestamp, rank, offset) head goes next
    unless an empty topic is blocked for its arrival."""
    out: list[str] = []
    while True:
        heads = [(q[0], t) for t, q in queues.items() if q]
        if not heads:
            return out
        head, topic = min(heads, key=lambda h: h[0][:3])
        if any(blocked(t, head[3]) for t, q in queues.items() if not q):
            return out
        out.append(queues[topic].pop(0)[4])


@settings(max_examples=300, deadline=None)
@given(
    batches=st.lists(
        st.tuples(st.sampled_from(TOPICS), st.lists(st.integers(0, 30), min_size=1, max_size=6)),
        max_size=12,
    ),
    polled=st.fixed_dictionaries({t: st.floats(0, 14) for t in TOPICS}),
    settled=st.floats(0, 14),
)
def test_release_is_the_reference_merge_asking_each_topic_once_per_arrival(
    batches: list[tuple[str, list[int]]], polled: dict[str, float], settled: float
) -> None:
    m, counted = merger(), merger()
    queues: dict[str, list[tuple[int, int, int, float, str]]] = {t: [] for t in TOPICS}
    offsets = dict.fromkeys(TOPICS, 0)
    for arrival, (topic, stamps) in enumerate(batches):
        for stamp in stamps:
            name = f"{topic}{offsets[topic]}"
            m.push(topic, stamp, offsets[topic], name, float(arrival))
            counted.push(topic, stamp, offsets[topic], name, float(arrival))
            queues[topic].append((stamp, TOPICS.index(topic), offsets[topic], arrival, name))
            offsets[topic] += 1
    asked: list[tuple[str, float]] = []

    def blocked(topic: str, arrival: float) -> bool:
        asked.append((topic, arrival))
        return arrival > settled or polled[topic] <= arrival

    assert list(m.ready(blocked)) == _reference_ready(queues, blocked)
    asked.clear()  # the reference asked too: count the merger's questions alone
    list(counted.ready(blocked))
    assert len(asked) == len(set(asked))
