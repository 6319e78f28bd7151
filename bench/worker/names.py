"""The names of one part of one invocation: topics, app ids, Redis prefixes, settings.

Why it exists: every invocation and every part of it (throughput, each latency
run) uses its own `gsbench-<tag>-<part>-...` names, so runs never see each
other's data; this is where those names, and the environment and settings
that point a worker or a producer at them, are made.
"""

from __future__ import annotations

from typing import Any

FX_RATES = '{"USD":1,"EUR":1.08,"GBP":1.27}'
DEFAULT_TOPICS = ("signups", "payments", "cancellations", "activity", "surveys")
OUTPUT_TOPICS = ("metric_changes", "churn_alerts", "dead_letters")


class Names:
    """The topics, app ids and Redis prefixes of one part of one benchmark invocation."""

    def __init__(self, tag: str, part: str, partitions: int) -> None:
        self.base = f"gsbench-{tag}-{part}"
        self.partitions = partitions
        self.topics = {name: f"{self.base}-{name}" for name in DEFAULT_TOPICS}
        self.outputs = {name: f"{self.base}-{name.replace('_', '-')}" for name in OUTPUT_TOPICS}

    def app_id(self, run: str) -> str:
        return f"{self.base}-{run}"

    def redis_prefix(self, run: str) -> str:
        return f"{self.base}:{run}:"

    def env(self, run: str) -> dict[str, str]:
        env = {f"GROWTH_TOPIC_{name.upper()}": topic for name, topic in self.topics.items()}
        env |= {f"GROWTH_TOPIC_{name.upper()}": topic for name, topic in self.outputs.items()}
        env |= {
            "GROWTH_APP_ID": self.app_id(run),
            "GROWTH_REDIS_PREFIX": self.redis_prefix(run),
            "GROWTH_TOPIC_PARTITIONS": str(self.partitions),
            "GROWTH_FX_RATES": FX_RATES,
        }
        return env

    def settings(self, services: dict[str, str], run: str = "producer") -> Any:
        from models.settings import Settings

        options: dict[str, Any] = {
            "app_id": self.app_id(run),
            "kafka_bootstrap_servers": services["GROWTH_KAFKA_BOOTSTRAP_SERVERS"],
            "topic_partitions": self.partitions,
            "fx_rates": FX_RATES,
        }
        options |= {f"topic_{name}": topic for name, topic in self.topics.items()}
        options |= {f"topic_{name}": topic for name, topic in self.outputs.items()}
        return Settings(**options)
