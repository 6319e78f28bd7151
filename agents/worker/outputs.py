"""What the worker publishes: dead letters, churn alerts and metric changes.

Every record goes out with `send_soon` (no wait per record) and is kept until its
delivery is confirmed: the checkpoint flushes the producer and then `settle`s,
which sends again whatever failed and says so; the offsets of the input that
caused them are committed only once all were delivered. So no output is lost,
and a failure that persists (a broker that refuses the records) stops progress
with its reason on `/health` instead of a crash loop. Dead letters have a bounded
size (models/outputs.py), so a message, whatever its size or content, cannot make
one too large to publish. Alerts are kept until Redis has them too.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import faust

from agents.serving.redis_view import RedisView
from agents.worker.checkpoints import OutboxRecord
from models.decode import Rejection
from models.outputs import ChurnAlert, DeadLetter, MetricChange, MetricRevision
from models.settings import Settings

log = logging.getLogger("growthstream.outputs")

SETTLE_TIMEOUT_S: Final = 30.0


@dataclass(slots=True)
class _Sent:
    partition: int | None
    """The input partition whose input caused it (None: the aggregate's)."""
    topic: Any
    key: bytes | None
    value: bytes
    future: Any
    """Faust's FutureMessage (an asyncio.Future) of this send."""


class Outputs:
    def __init__(self, app: faust.App, settings: Settings, redis: RedisView) -> None:
        raw: dict[str, Any] = {"key_type": bytes, "value_type": bytes}
        raw |= {"key_serializer": "raw", "value_serializer": "raw"}
        self.redis = redis
        self.raw_limit = settings.dead_letter_raw_bytes
        self.dead_letters = app.topic(settings.topic_dead_letters, **raw)
        self.metric_changes = app.topic(settings.topic_metric_changes, **raw)
        self.metric_revisions = app.topic(settings.topic_metric_revisions, **raw)
        self.churn_alerts = app.topic(settings.topic_churn_alerts, **raw)
        self.unwritten_alerts: deque[ChurnAlert] = deque(maxlen=settings.redis_changes_maxlen)
        """Alerts sent to Kafka but not yet to Redis (kept across a Redis outage)."""
        self.written_alerts: deque[ChurnAlert] = deque(maxlen=settings.redis_changes_maxlen)
        """The newest alerts this worker wrote to Redis (maybe not yet readable in Kafka)."""
        self._writing_alerts = asyncio.Lock()
        """The checkpoint and the emit both write alerts: one at a time, each batch once."""
        self.unsettled: list[_Sent] = []
        self.problem: str | None = None
        """Why the last deliveries failed, until they succeed (shown on `/health`)."""

        self._topics = {
            t.get_topic_name(): t
            for t in (
                self.dead_letters,
                self.metric_changes,
                self.metric_revisions,
                self.churn_alerts,
            )
        }

    def _send(self, partition: int | None, topic: Any, key: bytes | None, value: bytes) -> None:
        future = topic.send_soon(key=key, value=value)
        self.unsettled.append(_Sent(partition, topic, key, value, future))

    def outbox(self, partition: int) -> list[OutboxRecord]:
        """The partition's outputs not yet confirmed delivered (kept in its checkpoint)."""
        return [
            (s.topic.get_topic_name(), s.key, s.value)
            for s in self.unsettled
            if s.partition == partition
        ]

    def resend(self, partition: int, records: Iterable[OutboxRecord]) -> None:
        """A restored partition's outbox: sent again (consumers dedupe by id or position)."""
        for topic, key, value in records:
            self._send(partition, self._topics[topic], key, value)

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
            rejection, raw, topic=topic, partition=partition, offset=offset, key=text_key,
            raw_limit=self.raw_limit,
        )  # fmt: skip
        record_key = None if key is None else key[: self.raw_limit]
        self._send(partition, self.dead_letters, record_key, letter.to_json())

    def alerts(self, alerts: Iterable[ChurnAlert], partition: int | None) -> None:
        """Queue alerts for `churn-alerts` (settled before the offsets are committed)."""
        for alert in alerts:
            self._send(partition, self.churn_alerts, alert.account_id.encode(), alert.to_json())
            self.unwritten_alerts.append(alert)

    def changes(self, records: Sequence[MetricChange]) -> None:
        for record in records:
            self._send(None, self.metric_changes, record.metric.encode(), record.to_json())

    def revisions(self, records: Sequence[MetricRevision]) -> None:
        for record in records:
            self._send(None, self.metric_revisions, record.metric.encode(), record.to_json())

    async def write_alerts(self) -> None:
        """Append the alerts Redis does not have yet (those raised meanwhile stay queued)."""
        async with self._writing_alerts:
            batch = list(self.unwritten_alerts)
            if batch and await self.redis.append_alerts(batch):
                for _ in batch:
                    self.written_alerts.append(self.unwritten_alerts.popleft())

    async def rewrite_alerts(self, history: Sequence[ChurnAlert], *, read_from_ms: int) -> bool:
        """Make Redis' alerts stream `history` (read back from Kafka from `read_from_ms`
        on, Redis' clock) plus what this worker wrote or raised, which Kafka may not have
        shown yet, and what other workers appended during the read: each alert once."""
        async with self._writing_alerts:
            batch = list(self.unwritten_alerts)
            records = [*history, *self.written_alerts, *batch]
            if not await self.redis.replace_alerts(records, kept_since_ms=read_from_ms):
                return False
            for _ in batch:
                self.written_alerts.append(self.unwritten_alerts.popleft())
            return True

    async def settle(self) -> bool:
        """After a producer flush: True when everything sent so far is delivered; else what
        failed is sent again (and `problem` says why) and False."""
        sent, self.unsettled = self.unsettled, []
        waiting = [s.future for s in sent if not s.future.done()]
        if waiting:
            await asyncio.wait(waiting, timeout=SETTLE_TIMEOUT_S)
        failed = [s for s in sent if _undelivered(s.future)]
        for again in failed:
            self._send(again.partition, again.topic, again.key, again.value)
        if failed:
            first = failed[0]
            reason = (
                repr(first.future.exception())
                if first.future.done() and not first.future.cancelled()
                else "not delivered in time"
            )
            self.problem = (
                f"{len(failed)} output records to {first.topic.get_topic_name()} not "
                f"delivered ({reason}); retrying, input offsets not committed meanwhile"
            )
            log.warning("%s", self.problem)
            return False
        self.problem = None
        return True


def _undelivered(future: Any) -> bool:
    return not future.done() or future.cancelled() or future.exception() is not None
