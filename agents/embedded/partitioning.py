"""Which partition a replay line lands in, and in which order a partition takes its lines.

`growthstream replay --partitions P` must compute what a P-partition worker computes
(METRICS.md "Partitions"). `growthstream produce` sends each line keyed by its `key`
(else the value's `account_id`) with Kafka's default partitioner (murmur2 of the key
bytes), so a line goes to `kafka_partition(key, P)`; a line without a key goes to
partition 0 (Kafka would pick one at random; such a line is a dead letter wherever it
lands). Its offset is its position among the lines of its topic and partition, as the
broker numbers them. A worker merges a partition's five topics by (record timestamp,
topic, offset); a line's record timestamp is its `timestamp` when it has one, else the
previous line's plus 1 ms, as `produce` stamps lines in file order (docs/DECISIONS.md 41).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from typing import Final

from models.decode import Rejection
from models.events import AnyEvent
from models.replay_line import good_line_validator, parse_line
from models.settings import Settings

KIND_RANK: Final = {"signup": 0, "payment": 1, "cancellation": 2, "activity": 3, "survey": 4}
"""The worker's tie-break between topics of equal record timestamp: EVENTS.md's order."""
OTHER_RANK: Final = len(KIND_RANK)


def kafka_partition(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner gives a message key."""
    hashed: int = _murmur2()(key)
    return (hashed & 0x7FFFFFFF) % partitions


@cache
def _murmur2() -> Callable[[bytes], int]:
    """kafka-python's murmur2, imported on first use: importing `kafka` costs a tenth of a
    second that a replay without `--partitions` need not pay."""
    from kafka.partitioner.default import murmur2

    return murmur2  # type: ignore[no-any-return]


@dataclass(slots=True)
class Routed:
    """One replay line, with where and when the worker would see it."""

    line: bytes
    partition: int
    offset: int
    """Position among the lines of its (topic, partition): the Kafka offset it would get."""
    timestamp: int | None
    """Its own `timestamp` (the future rule reads this one)."""
    order: tuple[int, int, int]
    """(record timestamp, topic rank, file position): the worker's merge order."""
    event: AnyEvent | None
    """The event when the line passed the one-pass validation, else None."""


def route(
    lines: Iterable[bytes],
    settings: Settings,
    partitions: int,
    progress: Callable[[int, int], None] | None = None,
) -> list[Routed]:
    """Every non-blank line of a file, routed as `produce` and the broker would."""
    good_line = good_line_validator(settings)
    rank_of = {topic: KIND_RANK[kind] for topic, kind in settings.input_topics().items()}
    offsets: dict[tuple[str | None, int], int] = {}
    routed: list[Routed] = []
    clock = read = 0
    for position, line in enumerate(lines):
        read += len(line)
        if progress is not None and not position % 4096:
            progress(read, position)
        if not line.strip():
            continue
        good = good_line(line)
        event: AnyEvent | None = None
        if good is not None:
            event, key, timestamp = good
            topic: str | None = str(_topic_of(line, settings, event))
            key = key if key is not None else event.account_id
        else:
            parsed = parse_line(line)
            if isinstance(parsed, Rejection):
                topic, key, timestamp = None, None, None
            else:
                topic, key, timestamp = parsed.topic, parsed.message_key, parsed.timestamp
        partition = (
            0 if key is None else kafka_partition(key.encode("utf-8", "surrogatepass"), partitions)
        )
        clock = timestamp if timestamp is not None else clock + 1
        offset = offsets.get((topic, partition), 0)
        offsets[(topic, partition)] = offset + 1
        rank = rank_of.get(topic, OTHER_RANK) if topic is not None else OTHER_RANK
        routed.append(Routed(line, partition, offset, timestamp, (clock, rank, position), event))
    if progress is not None:
        progress(read, len(routed))
    return routed


def _topic_of(line: bytes, settings: Settings, event: AnyEvent) -> str:
    """The topic of a line that passed the one-pass validation (its event's kind's topic)."""
    kind = type(event).__name__.lower()
    for topic, topic_kind in settings.input_topics().items():
        if topic_kind == kind:
            return topic
    raise AssertionError(f"no topic for {kind} in {line[:80]!r}")


def merge_order(routed: list[Routed]) -> list[Routed]:
    """The lines in the order the worker's partitions take them (stable; file order when no
    line has a timestamp)."""
    if all(a.order <= b.order for a, b in pairwise(routed)):
        return routed
    return sorted(routed, key=lambda item: item.order)
