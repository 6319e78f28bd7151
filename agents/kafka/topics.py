"""The topics growthstream reads and writes, created up front with the configured partitions.

A broker that auto-creates topics would use its own default (often 1) and break
the co-partitioning the worker relies on, so every command that needs them
creates them first. Idempotent: topics that exist are left alone (a partition
count that differs from the setting is logged, never changed: repartitioning
would move keys).

Needs kafka-python 3.x: `KafkaAdminClient.create_topics` takes a dict of options
there, and an unreachable broker raises KafkaTimeoutError from the constructor.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from kafka import KafkaAdminClient
from kafka.errors import TopicAlreadyExistsError, for_code

from agents.kafka.config import REQUEST_TIMEOUT_MS, client_config, known_options, short_timeouts
from models.outputs import max_dead_letter_bytes
from models.settings import Settings

log = logging.getLogger("growthstream.kafka")

TopicOptions = Mapping[str, Any]
"""Options of an extra topic: `partitions` (int), `replication` (int), `configs` (str -> str)."""

_NO_EXTRA: Final[Mapping[str, TopicOptions]] = MappingProxyType({})
_TOPIC_EXISTS: Final = TopicAlreadyExistsError.errno


def dead_letter_topic_bytes(settings: Settings) -> int:
    """`max.message.bytes` of the dead-letters topic: the largest dead letter the worker can
    write (models.outputs.max_dead_letter_bytes) and a record batch's overhead."""
    return max_dead_letter_bytes(settings.dead_letter_raw_bytes) + 4096


def admin_client(settings: Settings) -> Any:
    options = {
        **client_config(settings),
        **short_timeouts(),
        "client_id": f"{settings.app_id}-admin",
    }
    return KafkaAdminClient(**known_options(KafkaAdminClient, options))


def existing_topics(settings: Settings) -> set[str]:
    admin = admin_client(settings)
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def wanted_topics(
    settings: Settings, extra: Mapping[str, TopicOptions] = _NO_EXTRA, replication: int = 1
) -> dict[str, dict[str, Any]]:
    """Topic name -> kafka-python create options, for the inputs, the outputs and `extra`."""
    names = [
        *settings.input_topics(),
        settings.topic_metric_changes,
        settings.topic_metric_revisions,
        settings.topic_churn_alerts,
        settings.topic_dead_letters,
    ]
    wanted: dict[str, dict[str, Any]] = {
        name: {"num_partitions": settings.topic_partitions, "replication_factor": replication}
        for name in names
    }
    wanted[settings.topic_dead_letters]["configs"] = {
        "max.message.bytes": str(dead_letter_topic_bytes(settings))
    }
    for name, options in extra.items():
        wanted[name] = {
            "num_partitions": int(options.get("partitions", settings.topic_partitions)),
            "replication_factor": int(options.get("replication", replication)),
            "configs": {str(k): str(v) for k, v in dict(options.get("configs", {})).items()},
        }
    return wanted


def ensure_topics(
    settings: Settings,
    *,
    extra: Mapping[str, TopicOptions] = _NO_EXTRA,
    replication: int = 1,
) -> list[str]:
    """Create the five input and three output topics (and `extra`) unless they exist.

    Idempotent: topics that exist are left alone (a partition count that differs
    from the setting is logged, never changed: repartitioning would move keys).
    Returns the names this call created. Raises kafka.errors.KafkaError (e.g.
    KafkaTimeoutError when no broker answers).
    """
    if replication < 1:
        raise ValueError("replication must be >= 1")
    wanted = wanted_topics(settings, extra, replication)
    admin = admin_client(settings)
    try:
        existing = set(admin.list_topics())
        missing = {name: options for name, options in wanted.items() if name not in existing}
        created = _create(admin, missing) if missing else []
        _warn_partition_counts(admin, wanted, [name for name in wanted if name in existing])
    finally:
        admin.close()
    return created


def _create(admin: Any, topics: Mapping[str, dict[str, Any]]) -> list[str]:
    """Create `topics`; one that another client created meanwhile is fine. Waits until usable."""
    result = admin.create_topics(dict(topics), timeout_ms=REQUEST_TIMEOUT_MS, raise_errors=False)
    created: list[str] = []
    for topic in result.get("topics", []):
        code = topic.get("error_code", 0)
        if code == 0:
            created.append(topic["name"])
        elif code != _TOPIC_EXISTS:
            error = for_code(code)
            raise error(f"cannot create topic {topic['name']}: {topic.get('error_message')}")
    if created and hasattr(admin, "wait_for_topics"):
        admin.wait_for_topics(created, timeout_ms=REQUEST_TIMEOUT_MS)
    if created:
        log.info("created topics %s", ", ".join(sorted(created)))
    return created


def _warn_partition_counts(
    admin: Any, wanted: Mapping[str, dict[str, Any]], names: list[str]
) -> None:
    if not names:
        return
    for topic in admin.describe_topics(names):
        have = len(topic.get("partitions") or [])
        want = wanted[topic["name"]]["num_partitions"]
        if have and have != want:
            log.warning(
                "topic %s has %d partitions, GROWTH_TOPIC_PARTITIONS says %d; left as it is",
                topic["name"],
                have,
                want,
            )
