"""The worker's own topics: created before it starts, named after the app id."""

from __future__ import annotations

from typing import Any

from models.settings import Settings


def partials_topic(settings: Settings) -> str:
    """Compacted, one partition: every partition's latest partial state, for the aggregator."""
    return f"{settings.app_id}-partials"


def clock_topic(settings: Settings) -> str:
    """The global stream time, told to every input partition by the aggregator."""
    return f"{settings.app_id}-clock"


def checkpoints_changelog(settings: Settings) -> str:
    return f"{settings.app_id}-checkpoints-changelog"


def internal_topics(settings: Settings) -> dict[str, dict[str, Any]]:
    """Topic name -> create options of the worker's internal topics.

    Faust declares them too, but an agent can subscribe before the declaration
    lands; aiokafka then ignores the topic until its next metadata refresh
    (minutes), and nothing is aggregated meanwhile.
    """
    n = settings.topic_partitions
    compact = {"cleanup.policy": "compact"}
    return {
        partials_topic(settings): {"partitions": 1, "configs": compact},
        clock_topic(settings): {"partitions": n, "configs": {"retention.ms": 3_600_000}},
        checkpoints_changelog(settings): {"partitions": n, "configs": compact},
    }
