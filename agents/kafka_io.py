"""Kafka plumbing for the shells: client settings, topic creation, and a replay-file producer.

Why it exists: the worker reads real topics, so a replay file (or the demo's
synthetic world) has to get onto them exactly as `growthstream replay` would
read it, byte for byte, keyed by account so that one account's events stay in
one partition, in file order. Topics are created here, up front, with the
configured partition count: a broker that auto-creates them would use its own
default (often 1) and break the co-partitioning the worker relies on.

Needs kafka-python 3.x: KafkaAdminClient.create_topics takes a dict of options
there, an unreachable broker raises KafkaTimeoutError from the constructor
(`NoBrokersAvailable` no longer exists), and `bootstrap_timeout_ms` replaced
`api_version_auto_timeout_ms`. Options a client class does not know are dropped
rather than passed (`_known`), so an option renamed again degrades to its
default instead of failing with `Unrecognized configs`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, TypeVar

import orjson
from kafka import KafkaAdminClient, KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError, TopicAlreadyExistsError, for_code

from models.settings import Settings

log = logging.getLogger("growthstream.kafka")

T = TypeVar("T")
TopicOptions = Mapping[str, Any]
"""Options of an extra topic: `partitions` (int), `replication` (int), `configs` (str -> str)."""

BOOTSTRAP_TIMEOUT_MS: Final = 5_000
"""How long a client waits for a first broker answer: an unreachable cluster fails fast."""
REQUEST_TIMEOUT_MS: Final = 10_000
MAX_BLOCK_MS: Final = 10_000
"""How long `send` may wait for a topic's metadata (a topic that does not exist)."""
BATCH_BYTES: Final = 512 * 1024
FLUSH_EVERY_BYTES: Final = 32 * 1024 * 1024
"""kafka-python 3.x has no `buffer_memory` bound: flush this often to cap what is buffered."""
MAX_EXAMPLES: Final = 5

NOT_A_REPLAY_LINE: Final = "not a replay line"
UNKNOWN_TOPIC: Final = "unknown topic"

_NO_EXTRA: Final[Mapping[str, TopicOptions]] = MappingProxyType({})
_MISSING: Final = object()
_TOPIC_EXISTS: Final = TopicAlreadyExistsError.errno


class _RedactAdminConfig(logging.Filter):
    """KafkaAdminClient logs its whole configuration, SASL password included, at DEBUG."""

    _SECRETS: Final = ("sasl_plain_password", "ssl_password")

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 1 and isinstance(args[0], Mapping):
            config = dict(args[0])
            for name in self._SECRETS:
                if config.get(name) is not None:
                    config[name] = "***"
            record.args = (config,)
        return True


logging.getLogger("kafka.admin.client").addFilter(_RedactAdminConfig())


# ---------------------------------------------------------------- client settings


def client_config(settings: Settings) -> dict[str, Any]:
    """kafka-python connection kwargs from the settings; only what is configured is set."""
    servers = [s.strip() for s in settings.kafka_bootstrap_servers.split(",") if s.strip()]
    config: dict[str, Any] = {
        "bootstrap_servers": servers,
        "security_protocol": settings.kafka_security_protocol,
    }
    optional: dict[str, Any] = {
        "sasl_mechanism": settings.kafka_sasl_mechanism,
        "sasl_plain_username": settings.kafka_sasl_username,
        "sasl_plain_password": (
            settings.kafka_sasl_password.get_secret_value()
            if settings.kafka_sasl_password is not None
            else None
        ),
        "ssl_cafile": settings.kafka_ssl_cafile,
        "ssl_certfile": settings.kafka_ssl_certfile,
        "ssl_keyfile": settings.kafka_ssl_keyfile,
    }
    config.update({name: value for name, value in optional.items() if value is not None})
    return config


def _known(client: type, options: Mapping[str, Any]) -> dict[str, Any]:
    """The options that this kafka-python version's `client` class accepts."""
    defaults: Mapping[str, Any] = getattr(client, "DEFAULT_CONFIG", {})
    return {name: value for name, value in options.items() if name in defaults}


def _timeouts() -> dict[str, Any]:
    """Short bootstrap/request timeouts: a wrong address is reported in seconds, not minutes."""
    return {
        "bootstrap_timeout_ms": BOOTSTRAP_TIMEOUT_MS,
        "request_timeout_ms": REQUEST_TIMEOUT_MS,
    }


def _admin(settings: Settings) -> Any:
    options = {**client_config(settings), **_timeouts(), "client_id": f"{settings.app_id}-admin"}
    return KafkaAdminClient(**_known(KafkaAdminClient, options))


# ---------------------------------------------------------------- topics


def wanted_topics(
    settings: Settings, extra: Mapping[str, TopicOptions] = _NO_EXTRA, replication: int = 1
) -> dict[str, dict[str, Any]]:
    """Topic name -> kafka-python create options, for the inputs, the outputs and `extra`."""
    names = [
        *settings.input_topics(),
        settings.topic_metric_changes,
        settings.topic_churn_alerts,
        settings.topic_dead_letters,
    ]
    wanted: dict[str, dict[str, Any]] = {
        name: {"num_partitions": settings.topic_partitions, "replication_factor": replication}
        for name in names
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
    admin = _admin(settings)
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


# ---------------------------------------------------------------- producing


@dataclass(slots=True)
class ProduceSummary:
    """What a `produce_lines` run did; `sent` counts acknowledged messages per topic."""

    sent: dict[str, int] = field(default_factory=dict)
    skipped: int = 0
    errors: int = 0
    seconds: float = 0.0
    lines: int = 0
    """Lines read, blank ones included."""
    bytes_read: int = 0
    skipped_reasons: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    """The first few skipped or failed lines, `line N: reason`."""
    first_error: str | None = None

    @property
    def total(self) -> int:
        return sum(self.sent.values())

    def describe(self) -> str:
        """One line: `sent 34,071 messages (payments 5,123, ...) in 2.1s; skipped 12`."""
        per_topic = ", ".join(f"{t} {n:,}" for t, n in sorted(self.sent.items(), key=_by_count))
        noun = "message" if self.total == 1 else "messages"
        text = f"sent {self.total:,} {noun}" + (f" ({per_topic})" if per_topic else "")
        text += f" in {self.seconds:.1f}s"
        if self.skipped:
            reasons = ", ".join(f"{r} {n:,}" for r, n in sorted(self.skipped_reasons.items()))
            text += f"; skipped {self.skipped:,} ({reasons})"
        if self.errors:
            text += f"; {self.errors:,} failed ({self.first_error})"
        return text


def _by_count(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]


def parse_line(line: bytes) -> tuple[str, bytes, str | None] | str:
    """(topic, raw value, key) of a replay line, or why it is not one.

    The raw value is what `agents.replay` would decode: a string value byte for
    byte (UTF-8), anything else as `orjson.dumps(value)`. The key is the line's
    `key` when it is a string, else the value's `account_id` (a value given as a
    string is looked into too, since a real producer keyed it that way).
    """
    try:
        envelope = orjson.loads(line)
    except orjson.JSONDecodeError:
        return NOT_A_REPLAY_LINE
    if not isinstance(envelope, dict):
        return NOT_A_REPLAY_LINE
    topic = envelope.get("topic")
    value = envelope.get("value", _MISSING)
    if not isinstance(topic, str) or value is _MISSING:
        return NOT_A_REPLAY_LINE
    raw = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else orjson.dumps(value)
    key = envelope.get("key")
    if not isinstance(key, str):
        key = _account_id(value)
    return topic, raw, key


def _account_id(value: object) -> str | None:
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
    account = value.get("account_id") if isinstance(value, dict) else None
    return account if isinstance(account, str) else None


def paced(items: Iterable[T], rate: float) -> Iterator[T]:
    """`items` at about `rate` per second (a live demo); `rate <= 0` means no pacing."""
    if rate <= 0:
        yield from items
        return
    started = time.monotonic()
    for index, item in enumerate(items):
        delay = started + index / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield item


def _producer(settings: Settings) -> Any:
    options = {
        **client_config(settings),
        **_timeouts(),
        "client_id": f"{settings.app_id}-producer",
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "batch_size": BATCH_BYTES,
        "max_block_ms": MAX_BLOCK_MS,
        "allow_auto_create_topics": False,
    }
    return KafkaProducer(**_known(KafkaProducer, options))


class _Run:
    """The counters of one produce run; delivery failures arrive on the sender thread."""

    def __init__(self, settings: Settings) -> None:
        self.last_timestamp = 0
        self.inputs = frozenset(settings.input_topics())
        self.summary = ProduceSummary()
        self.submitted: dict[str, int] = {}
        self.failed: dict[str, int] = {}
        self.unavailable: dict[str, str] = {}
        self._lock = threading.Lock()

    def next_timestamp(self) -> int:
        """Strictly increasing message timestamps in file order (wall clock, never repeating).

        The worker merges a partition's five topics by timestamp, so a replayed file
        is applied in exactly its own order.
        """
        self.last_timestamp = max(int(time.time() * 1000), self.last_timestamp + 1)
        return self.last_timestamp

    def skip(self, number: int, reason: str, detail: str = "") -> None:
        summary = self.summary
        summary.skipped += 1
        summary.skipped_reasons[reason] = summary.skipped_reasons.get(reason, 0) + 1
        self._example(number, reason + detail)

    def fail(self, topic: str, error: BaseException | str, number: int | None = None) -> None:
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        with self._lock:
            self.failed[topic] = self.failed.get(topic, 0) + 1
            if self.summary.first_error is None:
                self.summary.first_error = text
            if number is not None:
                self._example(number, text)

    def _example(self, number: int, text: str) -> None:
        if len(self.summary.examples) < MAX_EXAMPLES:
            self.summary.examples.append(f"line {number}: {text}")

    def finish(self, seconds: float) -> ProduceSummary:
        summary = self.summary
        summary.seconds = seconds
        summary.errors = sum(self.failed.values())
        summary.sent = {
            topic: count - self.failed.get(topic, 0)
            for topic, count in self.submitted.items()
            if count > self.failed.get(topic, 0)
        }
        return summary


def produce_lines(
    lines: Iterable[bytes],
    settings: Settings,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> ProduceSummary:
    """Publish replay-file lines to their input topics; return what was sent, skipped, failed.

    Only the configured input topics are written to; other lines are skipped
    and counted, never sent. Blank lines are ignored (as replay does).
    `progress` is called with (bytes read, lines read) now and then. Raises
    kafka.errors.KafkaError when no broker answers at start.
    """
    started = time.perf_counter()
    run = _Run(settings)
    for topic in _missing_inputs(settings):
        run.unavailable[topic] = f"topic {topic} does not exist (ensure_topics creates it)"
    producer = _producer(settings)
    try:
        _send_all(producer, lines, run, progress)
        producer.flush()
    finally:
        producer.close(timeout=REQUEST_TIMEOUT_MS / 1000)
    summary = run.finish(time.perf_counter() - started)
    if progress is not None:
        progress(summary.bytes_read, summary.lines)
    return summary


def _missing_inputs(settings: Settings) -> list[str]:
    """Input topics the broker lacks. Checked up front because kafka-python 3.0 ignores the
    producer's allow_auto_create_topics=False: its first send would create the topic with the
    broker's default partition count, breaking co-partitioning for good."""
    admin = _admin(settings)
    try:
        existing = set(admin.list_topics())
    finally:
        admin.close()
    return [topic for topic in settings.input_topics() if topic not in existing]


def _send_all(
    producer: Any,
    lines: Iterable[bytes],
    run: _Run,
    progress: Callable[[int, int], None] | None,
) -> None:
    summary = run.summary
    buffered = 0
    for number, line in enumerate(lines, 1):
        summary.lines = number
        summary.bytes_read += len(line)
        if progress is not None:  # every line: a paced live demo moves slowly
            progress(summary.bytes_read, number)
        if not line.strip():
            continue
        buffered += _send_line(producer, line, number, run)
        if buffered >= FLUSH_EVERY_BYTES:
            producer.flush()
            buffered = 0


def _send_line(producer: Any, line: bytes, number: int, run: _Run) -> int:
    """Send one line; return the bytes handed to the producer (0 when skipped or failed)."""
    parsed = parse_line(line)
    if isinstance(parsed, str):
        run.skip(number, parsed)
        return 0
    topic, raw, key = parsed
    if topic not in run.inputs:
        run.skip(number, UNKNOWN_TOPIC, f" {topic!r}")
        return 0
    run.submitted[topic] = run.submitted.get(topic, 0) + 1
    if topic in run.unavailable:
        run.fail(topic, run.unavailable[topic])
        return 0
    key_bytes = None if key is None else key.encode("utf-8", "surrogatepass")
    try:
        future = producer.send(topic, value=raw, key=key_bytes, timestamp_ms=run.next_timestamp())
    except KafkaTimeoutError as exc:
        # No metadata for the topic within max_block_ms: do not wait again for each line.
        run.unavailable[topic] = f"{type(exc).__name__}: {exc} (topic {topic})"
        run.fail(topic, run.unavailable[topic], number)
        return 0
    except KafkaError as exc:  # e.g. MessageSizeTooLargeError: this line only
        run.fail(topic, exc, number)
        return 0
    future.add_errback(_on_error, run, topic)
    return len(raw)


def _on_error(run: _Run, topic: str, error: BaseException) -> None:
    run.fail(topic, error)
