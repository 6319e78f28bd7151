"""The input topics of one partition, merged in the order METRICS.md "Partitions" gives.

Faust consumes each topic-partition on its own, so one topic can run days of event
time ahead of another; fed straight to one engine, everything behind would look
late. Like Kafka Streams' timestamp synchronisation, records are released by
(record timestamp, topic, offset). A topic with nothing buffered holds the others
back while it may still deliver an earlier record: the caller's `blocked(topic,
received_at)` says so, e.g. while the topic has unread records, or while nothing
newer than the head record's arrival is known about it (one producer's appends to
several topics can become visible in another order than they were made;
docs/DECISIONS.md 40).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Entry = tuple[int, int, int, float, Item]
"""(record timestamp, topic rank, offset, arrival (wall clock, ms), item)."""


Blocked = Callable[[str, float], bool]
"""(topic, arrival time of the record that would go next) -> may the topic still deliver a
record that comes before it? Monotone in the arrival: a topic not blocked for an arrival is
not blocked for an earlier one (the merger asks once per topic and arrival)."""


class TopicMerger(Generic[Item]):
    __slots__ = ("_queues", "_rank")

    def __init__(self, topics: Sequence[str]) -> None:
        """`topics` in rank order (the tie-break between equal timestamps)."""
        self._queues: dict[str, deque[Entry[Item]]] = {t: deque() for t in topics}
        self._rank = {topic: rank for rank, topic in enumerate(topics)}

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def held(self, topic: str) -> int:
        """How many records of `topic` wait in the merger."""
        return len(self._queues[topic])

    def push(self, topic: str, timestamp: int, offset: int, item: Item, received: float) -> None:
        self._queues[topic].append((timestamp, self._rank[topic], offset, received, item))

    def ready(self, blocked: Blocked) -> Iterator[Item]:
        """Items in merge order, as long as no record not yet seen could precede them.

        Heads are compared by (timestamp, topic rank): two heads are never of one topic, so
        the offset cannot decide. An empty topic, once found not blocked for an arrival,
        is not asked again for that arrival or an earlier one. The head's topic then goes
        on without a rescan while its records come before the runner-up (the best head of
        the other topics) and arrived no later than the arrival cleared: in a catch-up one
        topic holds most records, and its runs between two of another topic's go out at
        the cost of a comparison each."""
        queues = self._queues
        cleared: dict[str, float] = {}
        while True:
            head: Entry[Item] | None = None
            runner: Entry[Item] | None = None
            head_queue: deque[Entry[Item]] | None = None
            empty: list[str] = []
            for topic, queue in queues.items():
                if not queue:
                    empty.append(topic)
                    continue
                entry = queue[0]
                if (
                    head is None
                    or entry[0] < head[0]
                    or (entry[0] == head[0] and entry[1] < head[1])
                ):
                    runner = head
                    head, head_queue = entry, queue
                elif (
                    runner is None
                    or entry[0] < runner[0]
                    or (entry[0] == runner[0] and entry[1] < runner[1])
                ):
                    runner = entry
            if head is None or head_queue is None:
                return
            arrival = head[3]
            for topic in empty:
                if cleared.get(topic, -math.inf) >= arrival:
                    continue
                if blocked(topic, arrival):
                    return
                cleared[topic] = arrival
            if runner is None:
                while head_queue and head_queue[0][3] <= arrival:
                    yield head_queue.popleft()[4]
                continue
            until, runner_rank, rank = runner[0], runner[1], head[1]
            while head_queue:
                entry = head_queue[0]
                if (
                    entry[3] > arrival
                    or entry[0] > until
                    or (entry[0] == until and rank > runner_rank)
                ):
                    break
                yield head_queue.popleft()[4]
