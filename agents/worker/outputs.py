"""What the worker publishes: dead letters, churn alerts and metric changes.

Dead letters and alerts go out with `send_soon` (no wait per record): the
checkpoint flushes the producer before it commits the offsets that caused them,
so none is lost. Alerts are kept until Redis has them too.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

import faust

from agents.serving.redis_view import RedisView
from models.decode import Rejection
from models.outputs import ChurnAlert, DeadLetter, MetricChange
from models.settings import Settings


class Outputs:
    def __init__(self, app: faust.App, settings: Settings, redis: RedisView) -> None:
        raw: dict[str, Any] = {"key_type": bytes, "value_type": bytes}
        raw |= {"key_serializer": "raw", "value_serializer": "raw"}
        self.redis = redis
        self.dead_letters = app.topic(settings.topic_dead_letters, **raw)
        self.metric_changes = app.topic(settings.topic_metric_changes, **raw)
        self.churn_alerts = app.topic(settings.topic_churn_alerts, **raw)
        self.unwritten_alerts: deque[ChurnAlert] = deque(maxlen=settings.redis_changes_maxlen)
        """Alerts sent to Kafka but not yet to Redis (kept across a Redis outage)."""

    def dead_letter(
        self,
        rejection: Rejection,
        raw: bytes,
        *,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
    ) -> None:
        text_key = key.decode("utf-8", "replace") if key else None
        letter = DeadLetter.of(
            rejection, raw, topic=topic, partition=partition, offset=offset, key=text_key
        )
        self.dead_letters.send_soon(key=key, value=letter.to_json())

    def alerts(self, alerts: Iterable[ChurnAlert]) -> None:
        """Queue alerts for `churn-alerts` (flushed before the checkpoint that covers them)."""
        for alert in alerts:
            self.churn_alerts.send_soon(key=alert.account_id.encode(), value=alert.to_json())
            self.unwritten_alerts.append(alert)

    async def write_alerts(self) -> None:
        if self.unwritten_alerts and await self.redis.append_alerts(list(self.unwritten_alerts)):
            self.unwritten_alerts.clear()

    async def changes(self, records: Sequence[MetricChange]) -> None:
        for record in records:
            await self.metric_changes.send(key=record.metric.encode(), value=record.to_json())
        if records:
            await self.redis.append_changes(records)
