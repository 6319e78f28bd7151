"""Deleting an invocation's topics and Redis keys at the end (unless `--keep`).

Why it exists: every invocation makes its own `gsbench-<tag>-...` topics, Faust
internal topics and Redis keys; this removes them all, and says so when it cannot.
"""

from __future__ import annotations

from typing import Any

from bench.worker.progress import say
from bench.worker.services import redis_client


def cleanup(services: dict[str, str], tag: str) -> None:
    """Delete this invocation's topics (inputs, outputs, Faust internals) and Redis keys."""
    base = f"gsbench-{tag}-"
    keys: list[Any] = []
    try:
        client = redis_client(services)
        keys = list(client.scan_iter(match=f"{base}*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
        client.close()
    except Exception as exc:
        say(f"cleanup: Redis keys not deleted: {exc!r}")
    try:
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(
            bootstrap_servers=services["GROWTH_KAFKA_BOOTSTRAP_SERVERS"].split(",")
        )
        try:
            topics = [t for t in admin.list_topics() if t.startswith(base)]
            if topics:
                admin.delete_topics(topics)
            say(f"cleanup: deleted {len(topics)} topics and {len(keys)} Redis keys")
        finally:
            admin.close()
    except Exception as exc:
        say(f"cleanup: topics not deleted: {exc!r}")
