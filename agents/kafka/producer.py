"""A replay file (or the demo's world) onto the input topics, as the product's buses would.

The worker reads real topics, so a file has to get onto them exactly as
`growthstream replay` reads it: byte for byte, keyed by account so that one
account's events stay in one partition, in file order (strictly increasing record
timestamps, so the worker's merge of a partition's topics keeps file order).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from kafka import KafkaProducer
from kafka.errors import KafkaError, KafkaTimeoutError

from agents.kafka.config import REQUEST_TIMEOUT_MS, client_config, known_options, short_timeouts
from agents.kafka.topics import existing_topics
from models.decode import Rejection
from models.replay_line import parse_line
from models.settings import Settings

T = TypeVar("T")

MAX_BLOCK_MS: Final = 10_000
"""How long `send` may wait for a topic's metadata (a topic that does not exist)."""
BATCH_BYTES: Final = 512 * 1024
FLUSH_EVERY_BYTES: Final = 32 * 1024 * 1024
"""kafka-python 3.x has no `buffer_memory` bound: flush this often to cap what is buffered."""
MAX_REQUEST_BYTES: Final = 64 * 1024 * 1024
"""The client's own limit on a message: large, so that the topic's `max.message.bytes` (the
broker's) decides what is too large, as for any producer of the product's buses."""
IN_FLIGHT: Final = 1
"""One request at a time: with idempotence, a partition whose batch is in flight is held back
while the others are sent, so a record of `payments` could reach the broker after a later one
of `activity` of the same partition; with one request at a time every partition's batch goes
in each request, and the worker merges the five topics in the order they were sent."""
MAX_EXAMPLES: Final = 5

NOT_A_REPLAY_LINE: Final = "not a replay line"
UNKNOWN_TOPIC: Final = "unknown topic"


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
        **short_timeouts(),
        "client_id": f"{settings.app_id}-producer",
        "acks": "all",
        "enable_idempotence": True,
        "max_in_flight_requests_per_connection": IN_FLIGHT,
        "linger_ms": 5,
        "batch_size": BATCH_BYTES,
        "max_block_ms": MAX_BLOCK_MS,
        "max_request_size": MAX_REQUEST_BYTES,
        "allow_auto_create_topics": False,
    }
    return KafkaProducer(**known_options(KafkaProducer, options))


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

    def next_timestamp(self, given: int | None) -> int:
        """The record timestamp of the next line: its own `timestamp` when it has one (the
        worker's "too far ahead" rule reads it), else strictly increasing wall-clock time.

        The worker merges a partition's five topics by timestamp, so a file without
        timestamps is applied in exactly its own order.
        """
        if given is not None:
            self.last_timestamp = max(given, self.last_timestamp)
            return given
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
    existing = existing_topics(settings)
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
        large = len(line) > BATCH_BYTES
        if large:  # alone in its batch and slow to send: let nothing overtake it, either way
            producer.flush()
        buffered += _send_line(producer, line, number, run)
        if large or buffered >= FLUSH_EVERY_BYTES:
            producer.flush()
            buffered = 0


def _send_line(producer: Any, line: bytes, number: int, run: _Run) -> int:
    """Send one line; return the bytes handed to the producer (0 when skipped or failed)."""
    parsed = parse_line(line)
    if isinstance(parsed, Rejection):
        run.skip(number, NOT_A_REPLAY_LINE)
        return 0
    topic, raw, key = parsed.topic, parsed.raw, parsed.message_key
    if topic not in run.inputs:
        run.skip(number, UNKNOWN_TOPIC, f" {topic!r}")
        return 0
    run.submitted[topic] = run.submitted.get(topic, 0) + 1
    if topic in run.unavailable:
        run.fail(topic, run.unavailable[topic])
        return 0
    key_bytes = None if key is None else key.encode("utf-8", "surrogatepass")
    try:
        stamp = run.next_timestamp(parsed.timestamp)
        future = producer.send(topic, value=raw, key=key_bytes, timestamp_ms=stamp)
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
