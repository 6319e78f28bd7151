"""The real services the benchmark runs against, and the one figure it reads from Redis.

Why it exists: Kafka and Redis come from `scripts/services` (started here unless
`--no-services-up`); the worker's progress is the Redis metrics count
events + duplicates + dead_letters, read the same way by every part.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from bench.worker.progress import say

ROOT = Path(__file__).resolve().parents[2]
COUNT_FIELDS = ("events", "duplicates", "dead_letters")


def services_env(skip_up: bool) -> dict[str, str]:
    """GROWTH_KAFKA_BOOTSTRAP_SERVERS and GROWTH_REDIS_URL from scripts/services."""
    if not skip_up:
        say("scripts/services up (idempotent)")
        subprocess.run(["bash", str(ROOT / "scripts/services"), "up"], check=True, cwd=ROOT)
    out = subprocess.run(
        ["bash", str(ROOT / "scripts/services"), "env"],
        check=True, cwd=ROOT, capture_output=True, text=True,
    ).stdout  # fmt: skip
    env: dict[str, str] = {}
    for line in out.splitlines():
        line = line.strip().removeprefix("export ")
        if "=" in line:
            name, value = line.split("=", 1)
            env[name] = value.strip("'\"")
    return env


def redis_client(services: dict[str, str]) -> Any:
    import redis

    return redis.Redis.from_url(services["GROWTH_REDIS_URL"], socket_timeout=5)


def metrics_count(client: Any, prefix: str) -> tuple[bool, int]:
    """(hash exists, events + duplicates + dead_letters) of `{prefix}metrics`."""
    values = client.hmget(f"{prefix}metrics", list(COUNT_FIELDS))
    if all(v is None for v in values):
        return False, 0
    return True, sum(int(v) for v in values if v not in (None, b""))
