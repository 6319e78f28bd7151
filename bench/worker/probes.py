"""The watchers of a latency run: the metric-changes feed and the Redis metrics count.

Why it exists: latency is the time from producing an event to seeing its effect;
these two threads note when each change record arrives and when the Redis
count moves, while the main thread produces.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import orjson

from bench.worker.services import metrics_count, redis_client

LATENCY_POLL_S = 0.02


class ChangeListener(threading.Thread):
    """Reads the metric-changes topic from the beginning, noting when each record arrived."""

    def __init__(self, services: dict[str, str], topic: str, partitions: int) -> None:
        super().__init__(daemon=True, name="changes")
        from kafka import KafkaConsumer, TopicPartition

        self.consumer = KafkaConsumer(
            bootstrap_servers=services["GROWTH_KAFKA_BOOTSTRAP_SERVERS"].split(","),
            group_id=None, auto_offset_reset="earliest", enable_auto_commit=False,
            fetch_max_wait_ms=10,
        )  # fmt: skip
        self.consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
        self.records: list[tuple[float, dict[str, Any]]] = []
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                for messages in self.consumer.poll(timeout_ms=50).values():
                    received = time.time()
                    for message in messages:
                        self.records.append((received, orjson.loads(message.value)))
        except BaseException as exc:
            self.error = exc
        finally:
            self.consumer.close()


class RedisPoller(threading.Thread):
    """Reads the metrics hash every LATENCY_POLL_S; keeps (time, count) when the count moves."""

    def __init__(self, services: dict[str, str], prefix: str) -> None:
        super().__init__(daemon=True, name="redis-poller")
        self.client = redis_client(services)
        self.prefix = prefix
        self.samples: list[tuple[float, int]] = []
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    @property
    def count(self) -> int:
        return self.samples[-1][1] if self.samples else 0

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                _exists, count = metrics_count(self.client, self.prefix)
                now = time.time()
                if not self.samples or count != self.samples[-1][1]:
                    self.samples.append((now, count))
                time.sleep(LATENCY_POLL_S)
        except BaseException as exc:
            self.error = exc
        finally:
            self.client.close()
