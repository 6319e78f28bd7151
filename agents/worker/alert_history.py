"""The newest churn alerts, read back from Kafka: what Redis' `growth:alerts` holds.

Kafka is the source of truth and Redis the read model: when Redis comes back empty
(a restart), the aggregating worker fills its alerts stream again from the newest
records of `churn-alerts`, which every worker publishes to (EVENTS.md "Redis").
Read with a group-less kafka-python consumer in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import time
from typing import Final

from kafka import KafkaConsumer, TopicPartition
from pydantic import ValidationError

from agents.kafka.config import client_config, known_options, short_timeouts
from models.outputs import ChurnAlert
from models.settings import Settings

READ_TIMEOUT_S: Final = 30.0


async def recent_alerts(settings: Settings, limit: int) -> list[ChurnAlert]:
    """Up to `limit` of the newest alerts of every partition of `churn-alerts`, oldest first."""
    return await asyncio.to_thread(_read, settings, limit)


def _read(settings: Settings, limit: int) -> list[ChurnAlert]:
    options = {**client_config(settings), **short_timeouts(), "enable_auto_commit": False}
    consumer = KafkaConsumer(**known_options(KafkaConsumer, options))
    try:
        topic = settings.topic_churn_alerts
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not tps:
            return []
        consumer.assign(tps)
        ends = consumer.end_offsets(tps)
        starts = consumer.beginning_offsets(tps)
        for tp in tps:
            consumer.seek(tp, max(starts[tp], ends[tp] - limit))
        records: list[tuple[int, int, ChurnAlert]] = []
        deadline = time.monotonic() + READ_TIMEOUT_S
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} back took over {READ_TIMEOUT_S:.0f}s")
            for batch in consumer.poll(timeout_ms=500).values():
                for record in batch:
                    try:
                        alert = ChurnAlert.model_validate_json(record.value)
                    except (ValidationError, TypeError):
                        continue
                    records.append((record.timestamp, record.offset, alert))
        records.sort(key=lambda r: (r[0], r[1]))
        return [alert for _, _, alert in records[-limit:]]
    finally:
        consumer.close()
