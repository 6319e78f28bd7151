"""The input topics of one partition, merged in the order METRICS.md "Partitions" gives.

Faust consumes each topic-partition on its own, so one topic can run days of event
time ahead of another; fed straight to one engine, everything behind would look
late. Like Kafka Streams' timestamp synchronisation, records are released by
(record timestamp, topic, offset). A topic with nothing buffered holds the others
back while it still has unread records, and, for `wait_ms` after a record was
received, even when it has none: one producer's appends to several topics can
become visible in another order than they were made (a fetch can see one
partition's append before another's, and a broker restart replays a producer's
batches in any order), and the wait lets the earlier record arrive
(docs/DECISIONS.md 40).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Entry = tuple[int, int, int, float, Item]
"""(record timestamp, topic rank, offset, received at (monotonic s), item)."""


class TopicMerger(Generic[Item]):
    __slots__ = ("_queues", "_rank", "_wait_s")

    def __init__(self, topics: Sequence[str], wait_ms: float = 0) -> None:
        """`topics` in rank order (the tie-break between equal timestamps)."""
        self._queues: dict[str, deque[Entry[Item]]] = {t: deque() for t in topics}
        self._rank = {topic: rank for rank, topic in enumerate(topics)}
        self._wait_s = wait_ms / 1000

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def push(self, topic: str, timestamp: int, offset: int, item: Item, received: float) -> None:
        self._queues[topic].append((timestamp, self._rank[topic], offset, received, item))

    def ready(self, has_unread: Callable[[str], bool], now: float) -> Iterator[Item]:
        """Items in merge order, as long as no record not yet seen could precede them."""
        queues = self._queues
        wait = self._wait_s
        while True:
            head: Entry[Item] | None = None
            head_topic = ""
            empty: list[str] = []
            for topic, queue in queues.items():
                if not queue:
                    empty.append(topic)
                    continue
                entry = queue[0]
                if head is None or entry[:3] < head[:3]:
                    head, head_topic = entry, topic
            if head is None:
                return
            for topic in empty:
                if has_unread(topic) or now - head[3] < wait:
                    return
            yield queues[head_topic].popleft()[4]
