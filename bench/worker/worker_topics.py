"""The worker's internal topics: created before it starts, and its partials read back.

Why it exists: a fresh worker can miss its own `-partials` topic at start-up,
so the benchmark creates the internal topics first (`--no-precreate` does not);
and the partials it published give the engines' own pace, and, when a worker
stops short, which partition is short.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from bench.worker.names import Names
from bench.worker.services import COUNT_FIELDS
from bench.worker.stats import rnd


def partial_counts(value: dict[str, Any]) -> int:
    return sum(int(value.get(field) or 0) for field in COUNT_FIELDS)


def read_partials(
    services: dict[str, str], names: Names, run: str
) -> tuple[list[tuple[int, int, dict[str, Any]]], dict[str, int]]:
    """The worker's `<app>-partials` topic, (message timestamp ms, partition, partial) in
    order, and the end offsets of the input topic-partitions ("topic:partition" -> end)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=services["GROWTH_KAFKA_BOOTSTRAP_SERVERS"].split(","),
        group_id=None, enable_auto_commit=False, auto_offset_reset="earliest",
    )  # fmt: skip
    rows: list[tuple[int, int, dict[str, Any]]] = []
    try:
        tps = [TopicPartition(t, p) for t in names.topics.values() for p in range(names.partitions)]
        ends = {f"{tp.topic}:{tp.partition}": end for tp, end in consumer.end_offsets(tps).items()}
        partials = TopicPartition(f"{names.app_id(run)}-partials", 0)
        end = consumer.end_offsets([partials])[partials]
        consumer.assign([partials])
        consumer.seek_to_beginning(partials)
        deadline = time.time() + 20
        while consumer.position(partials) < end and time.time() < deadline:
            for messages in consumer.poll(timeout_ms=500).values():
                for message in messages:
                    if message.key is None or message.key.startswith(b"h:"):
                        continue  # a partition's final day rows, not its partial
                    if message.value is not None:
                        value = orjson.loads(message.value)
                        rows.append((message.timestamp, int(message.key), value))
    finally:
        consumer.close()
    return rows, ends


def processing_span(rows: list[tuple[int, int, dict[str, Any]]], n: int) -> dict[str, Any]:
    """The engines' own pace, from the partials they published (their message timestamps):
    from the first partial that counts anything to the first moment the partials' latest
    values add up to n; (n - counted at the first) / that span."""
    latest: dict[int, int] = {}
    first: tuple[int, int] | None = None
    for timestamp, partition, value in rows:
        latest[partition] = partial_counts(value)
        total = sum(latest.values())
        if first is None and total > 0:
            first = (timestamp, total)
        if total >= n and first is not None and timestamp > first[0]:
            span = (timestamp - first[0]) / 1000
            return {
                "engine_seconds": rnd(span),
                "engine_events_per_s": round((n - first[1]) / span),
                "first_partial_unix": first[0] / 1000,
            }
    return {}


def diagnose(services: dict[str, str], names: Names, run: str) -> dict[str, Any]:
    """Where a worker that stopped short is short: per partition, the input messages
    (end offsets of the five topics) against what its last published partial counts."""
    rows, ends = read_partials(services, names, run)
    latest = {partition: value for _t, partition, value in rows}
    short = []
    for partition in range(names.partitions):
        inputs = {kind: ends[f"{topic}:{partition}"] for kind, topic in names.topics.items()}
        partial = latest.get(partition, {})
        counted = partial_counts(partial)
        if counted != sum(inputs.values()):
            short.append({
                "partition": partition, "input_messages": sum(inputs.values()),
                "counted": counted, "per_topic_end_offsets": inputs,
                "stream_time": partial.get("stream_time"),
            })  # fmt: skip
    return {"partitions_short": short}


def precreate_internal(services: dict[str, str], names: Names, run: str) -> None:
    """Create the worker's internal topics before it starts, as Faust would create them.

    Works around a start-up race of a fresh app id: the worker creates these topics and
    subscribes at once, aiokafka may not have them in its metadata yet ("Ignoring missing
    topic"), and then does not fetch them until its next metadata refresh (up to
    metadata_max_age_ms = 5 min): no partials are aggregated, so no Redis metrics and no
    metric changes. `--no-precreate` measures the worker exactly as it starts on its own.
    """
    from agents.kafka.topics import ensure_topics

    app = names.app_id(run)
    compact = {"cleanup.policy": "compact"}
    extra: dict[str, dict[str, Any]] = {
        f"{app}-partials": {"partitions": 1, "configs": compact},
        f"{app}-clock": {"partitions": names.partitions},
        f"{app}-checkpoints-changelog": {"partitions": names.partitions, "configs": compact},
        f"{app}-__assignor-__leader": {"partitions": 1},
    }
    ensure_topics(names.settings(services, run), extra=extra)
