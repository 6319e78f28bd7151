"""The Faust worker: one agent per input topic around one engine per partition.

The glue is thin on purpose; what it must get right is the order of things:

- a message is decoded by `models` and applied by the partition's `Engine`; bad
  or late ones go to `dead-letters` with their raw bytes;
- input records arrive in batches, one per topic-partition and fetch
  (agents/batching.py), each topic's through its own channel and agent;
- every `checkpoint_interval_ms` each partition's engine is checkpointed into the
  changelogged `checkpoints` table, the producer is flushed, and only then are the
  offsets it covers committed (agents/partition.py explains why that is exact);
- every `change_interval_ms` each partition publishes its partial state to the
  compacted `<app>-partials` topic; the worker that owns that topic's single
  partition aggregates them into the global snapshot, emits `metric-changes` and
  writes the Redis read model;
- a partition that has caught up with its input is moved to the global stream time
  (`<app>-clock`), so that its due cancellations and lapses fire exactly as in a
  single-stream replay.

Run with `growthstream worker` (or `faust -A agents.app worker`).
"""

from __future__ import annotations

import logging
import ssl
import time
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

import faust
import orjson
from faust.types import TP

from agents.aggregator import Aggregator
from agents.batching import BatchingConsumer, GrowthApp, RecordBatch
from agents.merge import TopicMerger
from agents.partition import PartitionState, restore, write_checkpoint
from agents.redis_view import RedisView
from agents.series import SeriesWriter
from agents.table_store import PartitionStore, table_store
from agents.telemetry import Telemetry
from agents.web import register_views
from models.decode import Decoder, Reason, Rejection
from models.jsonout import dumps
from models.outputs import dead_letter, now_iso
from models.settings import Settings
from state.alerts import Alert
from state.clock import day_to_date, iso_utc
from state.codec import partial_to_json
from state.engine import Outcome

log = logging.getLogger("growthstream.worker")

BATCH_QUEUE = 64
"""Record batches a topic's channel may hold before the fetcher waits for its agent."""
DRAIN_INTERVAL_S = 0.05
"""How often buffered input is re-examined when it waited on a topic that turned out empty."""
REPUBLISH_EVERY = 5
"""Every so many change intervals a partition republishes its partial even if unchanged,
so a restarted aggregator has every partition again within seconds."""
_LATE = Rejection(Reason.LATE, "occurred_at is older than the allowed lateness behind stream time")


def _broker_credentials(settings: Settings) -> Any:
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return None
    ssl_context = None
    if protocol in ("SSL", "SASL_SSL"):
        ssl_context = ssl.create_default_context(cafile=settings.kafka_ssl_cafile)
        if settings.kafka_ssl_certfile:
            ssl_context.load_cert_chain(settings.kafka_ssl_certfile, settings.kafka_ssl_keyfile)
    if protocol == "SSL":
        return faust.SSLCredentials(ssl_context)
    secret = settings.kafka_sasl_password
    password = secret.get_secret_value() if secret else ""
    mechanism = settings.kafka_sasl_mechanism or "PLAIN"
    if mechanism.startswith("SCRAM"):
        return faust.auth.SASLCredentials(
            username=settings.kafka_sasl_username or "",
            password=password,
            mechanism=mechanism,
            ssl_context=ssl_context,
        )
    return faust.SASLCredentials(
        username=settings.kafka_sasl_username or "", password=password, ssl_context=ssl_context
    )


def internal_topics(settings: Settings) -> dict[str, dict[str, Any]]:
    """The worker's own topics, created before it starts.

    Faust declares them too, but an agent can subscribe before the declaration
    lands; aiokafka then ignores the topic until its next metadata refresh
    (minutes), and nothing is aggregated meanwhile.
    """
    n = settings.topic_partitions
    compact = {"cleanup.policy": "compact"}
    return {
        partials_topic(settings): {"partitions": 1, "configs": compact},
        clock_topic(settings): {"partitions": n, "configs": {"retention.ms": 3_600_000}},
        f"{settings.app_id}-checkpoints-changelog": {"partitions": n, "configs": compact},
    }


def partials_topic(settings: Settings) -> str:
    return f"{settings.app_id}-partials"


def clock_topic(settings: Settings) -> str:
    return f"{settings.app_id}-clock"


def account_fields(state: PartitionState, account_id: str) -> dict[str, object]:
    """The `growth:account:{id}` hash of EVENTS.md."""
    account = state.engine.ledger.accounts.get(account_id)
    if account is None:
        return {}
    return {
        "mrr": account.mrr,
        "status": account.status.value,
        "plan": account.plan,
        "last_active": None if account.last_active is None else iso_utc(account.last_active),
        "last_score": account.last_score,
        "churn_risk": None,
        "paying_since": (
            day_to_date(account.streak_start).isoformat()
            if account.mrr > 0 and account.streak_start is not None
            else None
        ),
    }


class GrowthWorker:
    """Everything one worker process holds: its partitions' states and, maybe, the aggregate."""

    def __init__(self, app: GrowthApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.decoder = Decoder(settings)
        self.states: dict[int, PartitionState] = {}
        self.last_event_ids: dict[int, str] = {}
        self.published: dict[int, tuple[int, int, int, int | None]] = {}
        self.ticks = 0
        self.aggregator = Aggregator.from_settings(settings)
        self.redis = RedisView(settings)
        self.series = SeriesWriter(settings, self.redis)
        self.telemetry = Telemetry()
        self.global_time: int | None = None
        raw: dict[str, Any] = {"key_type": bytes, "value_type": bytes}
        raw |= {"key_serializer": "raw", "value_serializer": "raw"}
        n = settings.topic_partitions
        self.input_names = list(settings.input_topics())
        self.inputs = [
            app.topic(name, partitions=n, acks=False, **raw) for name in self.input_names
        ]
        self.received: dict[TP, int] = {}
        self.mergers: dict[int, TopicMerger[Any]] = {}
        self.dead_letters = app.topic(settings.topic_dead_letters, **raw)
        self.metric_changes = app.topic(settings.topic_metric_changes, **raw)
        self.churn_alerts = app.topic(settings.topic_churn_alerts, **raw)
        self.unwritten_alerts: deque[Mapping[str, object]] = deque(
            maxlen=settings.redis_changes_maxlen
        )
        """Alerts sent to Kafka but not yet to Redis (kept across a Redis outage)."""
        self.partials = app.topic(
            partials_topic(settings), partitions=1, compacting=True, internal=True, **raw
        )
        self.clock = app.topic(clock_topic(settings), partitions=n, internal=True, **raw)
        self.checkpoints = app.Table("checkpoints", partitions=n, key_type=bytes, value_type=bytes)
        for topic in self.inputs:
            app.topics.add(topic)
            channel = app.channel(maxsize=BATCH_QUEUE)
            app.deliver_in_batches(topic.get_topic_name(), channel)
            app.agent(channel, name=f"consume-{topic.get_topic_name()}", concurrency=1)(
                self._consume
            )
        app.agent(self.partials, name="aggregate", concurrency=1)(self._aggregate)
        app.agent(self.clock, name="clock", concurrency=1)(self._tick)
        app.timer(settings.checkpoint_interval_ms / 1000)(self._checkpoint_all)
        app.timer(settings.change_interval_ms / 1000)(self._publish_and_emit)
        app.timer(DRAIN_INTERVAL_S)(self._drain_all)
        app.on_partitions_revoked.connect(self._on_revoked)  # type: ignore[arg-type]

    # -- partitions -------------------------------------------------------------------

    def state(self, partition: int) -> PartitionState:
        state = self.states.get(partition)
        if state is None:
            store = PartitionStore(self.checkpoints.data, partition)
            state = self.states[partition] = restore(partition, self.settings, store)
            state.engine.alerts = []
            self.redis.needs_full_write = True
            log.info("partition %d: restored at offsets %s", partition, state.offsets)
        return state

    async def _on_revoked(self, app: Any, revoked: set[TP], **_: Any) -> None:
        for partition in {tp.partition for tp in revoked}:
            self.states.pop(partition, None)
            self.published.pop(partition, None)
            self.mergers.pop(partition, None)
        for tp in revoked:
            self.received.pop(tp, None)

    async def _consume(self, stream: faust.StreamT[RecordBatch]) -> None:
        async for batch in stream:
            if batch.generation_id != self.app.consumer_generation_id:
                continue
            tp = batch.tp
            if tp not in self.app.consumer.assignment():
                continue
            self.received[tp] = batch.records[-1].offset
            merger = self.mergers.get(tp.partition)
            if merger is None:
                merger = self.mergers[tp.partition] = TopicMerger(self.input_names)
            for record in batch.records:
                merger.push(tp.topic, record.timestamp, record)
            self._drain(tp.partition)
            await self._ebb()

    def _send_alerts(self, alerts: list[Alert]) -> None:
        """Queue alerts for `churn-alerts` (flushed before the checkpoint that covers them)."""
        for alert in alerts:
            record = alert.record()
            self.churn_alerts.send_soon(key=alert.account_id.encode(), value=dumps(record).encode())
            self.unwritten_alerts.append(record)
        alerts.clear()

    async def _write_alerts(self) -> None:
        if self.unwritten_alerts and await self.redis.append_alerts(list(self.unwritten_alerts)):
            self.unwritten_alerts.clear()

    async def _ebb(self) -> None:
        """Let the producer catch up with the dead letters sent without waiting."""
        buffer = self.app.producer.buffer
        if buffer.size > buffer.max_messages:
            await buffer.flush_atmost(buffer.size)

    def _has_unread(self, partition: int) -> Callable[[str], bool]:
        def has_unread(topic: str) -> bool:
            tp = TP(topic, partition)
            end = self.app.consumer.highwater(tp)
            return end is None or self.received.get(tp, -1) + 1 < end

        return has_unread

    def _drain(self, partition: int) -> None:
        """Apply what the merger releases; synchronous, so no checkpoint interleaves."""
        merger = self.mergers.get(partition)
        if merger is None or not len(merger):
            return
        state = self.state(partition)
        for record in list(merger.ready(self._has_unread(partition))):
            self._apply(state, record)
        if state.engine.alerts:
            self._send_alerts(state.engine.alerts)

    async def _drain_all(self) -> None:
        for partition in list(self.mergers):
            self._drain(partition)

    def _apply(self, state: PartitionState, record: Any) -> None:
        topic, offset = record.topic, record.offset
        if state.already_applied(topic, offset):
            return
        raw = record.value if isinstance(record.value, bytes) else b""
        decoded = self.decoder.decode(topic, raw)
        account_id = None
        changed = 0
        if isinstance(decoded, Rejection):
            state.engine.count_dead_letter()
            rejection: Rejection | None = decoded
        else:
            account_id = decoded.account_id
            self.last_event_ids[state.partition] = decoded.event_id
            changed = state.engine.apply(decoded)
            rejection = _LATE if changed & Outcome.LATE else None
        state.applied(topic, offset, account_id)
        self.telemetry.count(
            None if rejection is None else rejection.type,
            duplicate=bool(changed & Outcome.DUPLICATE),
            latency_s=time.time() - record.timestamp / 1000,
        )
        if rejection is not None:
            key = record.key.decode("utf-8", "replace") if record.key else None
            letter = dead_letter(
                rejection, raw, topic=topic, partition=state.partition, offset=offset, key=key
            )
            self.dead_letters.send_soon(key=record.key, value=dumps(letter).encode())

    async def _checkpoint_all(self) -> None:
        """Checkpoint changed partitions, flush (dead letters too), then commit their offsets."""
        offsets: dict[TP, int] = {}
        accounts: dict[str, dict[str, object]] = {}
        for partition, state in list(self.states.items()):
            if not state.unsaved:
                continue

            def write(key: bytes, value: bytes | None, partition: int = partition) -> None:
                PartitionStore(self.checkpoints.data, partition).write(key, value)
                self.checkpoints.send_changelog(partition, key, value)

            for topic, offset in write_checkpoint(state, write).items():
                offsets[TP(topic, partition)] = offset
            for account_id in state.dirty_accounts:
                accounts[account_id] = account_fields(state, account_id)
            state.dirty_accounts.clear()
        if offsets:
            await self.app.producer.flush()
            await cast(BatchingConsumer, self.app.consumer).commit_offsets(offsets)
        await self._write_alerts()
        if self.redis.needs_full_write:
            accounts = {
                account_id: account_fields(state, account_id)
                for state in self.states.values()
                for account_id in state.engine.ledger.accounts
            }
            self.redis.needs_full_write = not await self.redis.write_accounts(accounts)
        elif accounts:
            await self.redis.write_accounts(accounts)

    # -- aggregation --------------------------------------------------------------------

    async def _publish_and_emit(self) -> None:
        """Publish changed partials (all of them every few ticks), then aggregate if we own it."""
        self.ticks += 1
        if self.app.tables.actives_ready:
            for tp in self.app.consumer.assignment():
                if tp.topic in self.settings.input_topics():
                    self.state(tp.partition)
        republish = self.ticks % REPUBLISH_EVERY == 0
        for partition, state in list(self.states.items()):
            engine = state.engine
            version = (engine.events, engine.duplicates, engine.dead_letters, engine.stream_time)
            if not republish and self.published.get(partition) == version:
                continue
            self.published[partition] = version
            value = partial_to_json(engine.partial(), engine.stream_time)
            value["last_event_id"] = self.last_event_ids.get(partition)
            value["day_closes"] = [[day, *close] for day, close in engine.day_closes.items()]
            await self.partials.send(key=str(partition).encode(), value=orjson.dumps(value))
        if self.aggregator.partitions:
            await self._emit()

    async def _aggregate(self, stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            if event.message.key is not None and isinstance(event.message.value, bytes):
                self.aggregator.update(int(event.message.key), orjson.loads(event.message.value))

    async def _emit(self) -> None:
        alerts = self.aggregator.alerts()
        if alerts:
            self._send_alerts(alerts)
        await self._write_alerts()
        changed = self.aggregator.changed_since_emit
        if changed:
            records = self.aggregator.changes(now_iso())
            for record in records:
                await self.metric_changes.send(
                    key=str(record["metric"]).encode(), value=dumps(record).encode()
                )
            if records:
                await self.redis.append_changes(records)
        snapshot = self.aggregator.snapshot()
        await self.redis.write_metrics(snapshot)
        await self.series.write(self.aggregator, snapshot, changed=changed)
        now = self.aggregator.stream_time
        if now is not None:
            for partition in range(self.settings.topic_partitions):
                await self.clock.send(
                    key=str(partition).encode(), value=str(now).encode(), partition=partition
                )

    async def _tick(self, stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            partition = event.message.partition
            state = self.states.get(partition)
            if state is None or not isinstance(event.message.value, bytes):
                continue
            if self._caught_up(partition):
                state.engine.advance_to(int(event.message.value))
                if state.engine.alerts:
                    self._send_alerts(state.engine.alerts)

    def _caught_up(self, partition: int) -> bool:
        """True when every input topic of the partition has been applied up to its end."""
        merger = self.mergers.get(partition)
        if merger is not None and len(merger):
            return False
        has_unread = self._has_unread(partition)
        return not any(has_unread(topic) for topic in self.input_names)


def build_app(settings: Settings | None = None, *, web_port: int | None = None) -> faust.App:
    settings = settings or Settings()
    datadir = Path(settings.data_dir) / f"{settings.app_id}-{web_port or 6066}"
    datadir.mkdir(parents=True, exist_ok=True)
    brokers = [f"kafka://{host.strip()}" for host in settings.kafka_bootstrap_servers.split(",")]
    app = GrowthApp(
        settings.app_id,
        broker=brokers,
        broker_credentials=_broker_credentials(settings),
        store=table_store(settings),
        datadir=str(datadir),
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=1,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        autodiscover=False,
        web_port=web_port or 6066,
        web_host="127.0.0.1",
        broker_commit_interval=1.0,
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
        producer_max_request_size=2 * 1024 * 1024,
        table_standby_replicas=0,
        stream_wait_empty=False,
        timezone=None,
    )
    app.growth = GrowthWorker(app, settings)  # type: ignore[attr-defined]
    register_views(app, app.growth)  # type: ignore[attr-defined]
    return app


def __getattr__(name: str) -> Any:
    """`agents.app:app` for `faust -A agents.app`, built on first use from the environment."""
    if name == "app":
        global _app
        if _app is None:
            _app = build_app()
        return _app
    raise AttributeError(name)


_app: faust.App | None = None
