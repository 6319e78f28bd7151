"""The input topics of one partition, merged in the order they were appended to Kafka.

Faust consumes each topic-partition on its own, so one topic can run days of
event time ahead of another; fed straight to one engine, everything behind would
look late. Like Kafka Streams' timestamp synchronisation, messages are released
by smallest Kafka timestamp (creation order), and a topic-partition with no
buffered message holds the others back only while it still has unread messages.
`growthstream produce` stamps strictly increasing timestamps in file order, so a
replayed file is applied in exactly the replay's order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")


class TopicMerger(Generic[Item]):
    __slots__ = ("_queues", "_seq")

    def __init__(self, topics: Sequence[str]) -> None:
        self._queues: dict[str, deque[tuple[int, int, Item]]] = {t: deque() for t in topics}
        self._seq = 0

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def push(self, topic: str, timestamp: int, item: Item) -> None:
        self._seq += 1
        self._queues[topic].append((timestamp, self._seq, item))

    def ready(self, has_unread: Callable[[str], bool]) -> Iterator[Item]:
        """Items in timestamp order (ties: arrival), as long as no unread message could precede."""
        queues = self._queues
        while True:
            head: tuple[int, int, str] | None = None
            for topic, queue in queues.items():
                if not queue:
                    if has_unread(topic):
                        return
                    continue
                timestamp, seq, _ = queue[0]
                if head is None or (timestamp, seq) < head[:2]:
                    head = (timestamp, seq, topic)
            if head is None:
                return
            yield queues[head[2]].popleft()[2]
