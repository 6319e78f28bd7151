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

from agents.kafka.config import (
    REQUEST_TIMEOUT_MS,
    client_config,
    error_text,
    known_options,
    short_timeouts,
)
from agents.kafka.topics import existing_topics
from models.decode import Reason, Rejection
from models.outputs import DeadLetter
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


@dataclass(slots=True)
class ProduceSummary:
    """What a `produce_lines` run did; `sent` counts acknowledged messages per topic (the
    dead-letters topic included)."""

    sent: dict[str, int] = field(default_factory=dict)
    dead_letters: dict[str, int] = field(default_factory=dict)
    """Lines that are not messages of an input topic, by dead-letter reason: replay
    dead-letters them, so produce sends their dead letter instead (docs/DECISIONS.md 51)."""
    failures: dict[str, int] = field(default_factory=dict)
    """Messages the broker did not take, by error (one text per kind, never per line)."""
    seconds: float = 0.0
    lines: int = 0
    """Lines read, blank ones included."""
    bytes_read: int = 0

    @property
    def total(self) -> int:
        return sum(self.sent.values())

    @property
    def skipped(self) -> int:
        """Lines that reached no input topic (their dead letters went instead)."""
        return sum(self.dead_letters.values())

    @property
    def errors(self) -> int:
        return sum(self.failures.values())

    @property
    def first_error(self) -> str | None:
        return next(iter(self.failures), None)

    def describe(self) -> str:
        """One line, every reason and error with its count: `sent 34,071 messages (payments
        5,123, ...) in 2.1s; 12 dead letters (bad_replay_line 12)`."""
        per_topic = ", ".join(f"{t} {n:,}" for t, n in sorted(self.sent.items(), key=_by_count))
        noun = "message" if self.total == 1 else "messages"
        text = f"sent {self.total:,} {noun}" + (f" ({per_topic})" if per_topic else "")
        text += f" in {self.seconds:.1f}s"
        if self.dead_letters:
            count = self.skipped
            text += f"; {count:,} dead {'letter' if count == 1 else 'letters'} ("
            text += ", ".join(f"{r} {n:,}" for r, n in sorted(self.dead_letters.items())) + ")"
        if self.failures:
            text += f"; {self.errors:,} failed ("
            text += "; ".join(f"{e}: {n:,}" for e, n in self.failures.items()) + ")"
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
        self.dead_letter_topic = settings.topic_dead_letters
        self.raw_limit = settings.dead_letter_raw_bytes
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

    def dead_letter(self, reason: str) -> None:
        letters = self.summary.dead_letters
        letters[reason] = letters.get(reason, 0) + 1

    def fail(self, topic: str, error: BaseException | str) -> None:
        text = error if isinstance(error, str) else error_text(error)
        with self._lock:
            self.failed[topic] = self.failed.get(topic, 0) + 1
            failures = self.summary.failures
            failures[text] = failures.get(text, 0) + 1

    def finish(self, seconds: float) -> ProduceSummary:
        summary = self.summary
        summary.seconds = seconds
        summary.sent = {
            topic: count - self.failed.get(topic, 0)
            for topic, count in self.submitted.items()
            if count > self.failed.get(topic, 0)
        }
        return summary


def produce_dead_letters(letters: Iterable[DeadLetter], settings: Settings) -> int:
    """Publish dead letters made outside the stream (a Stripe event `stripe import` cannot
    map) to the dead-letters topic, keyed as the worker keys its own; how many failed."""
    producer = _producer(settings)
    failed = 0
    try:
        sent = [
            producer.send(
                settings.topic_dead_letters,
                key=None if letter.key is None else letter.key.encode(),
                value=letter.to_json(),
            )
            for letter in letters
        ]
        producer.flush(timeout=MAX_BLOCK_MS / 1000)
        for future in sent:
            try:
                future.get(timeout=MAX_BLOCK_MS / 1000)
            except KafkaError:
                failed += 1
    finally:
        producer.close(timeout=5)
    return failed


def produce_lines(
    lines: Iterable[bytes],
    settings: Settings,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> ProduceSummary:
    """Publish replay-file lines to their input topics; return what was sent and what failed.

    A line replay would dead-letter before any decoding (not a replay line, or a topic that
    is not an input: `bad_replay_line`) goes to the dead-letters topic as the dead letter
    replay writes for it, so the worker's dead letters are replay's; nothing else is
    written to. Blank lines are ignored (as replay does).
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
    written = [*settings.input_topics(), settings.topic_dead_letters]
    return [topic for topic in written if topic not in existing]


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
        buffered += _send_line(producer, line, run)
        if large or buffered >= FLUSH_EVERY_BYTES:
            producer.flush()
            buffered = 0


def _send_line(producer: Any, line: bytes, run: _Run) -> int:
    """Send one line, or its dead letter; return the bytes handed to the producer."""
    parsed = parse_line(line)
    if isinstance(parsed, Rejection):
        letter = DeadLetter.of(
            parsed, line, topic=None, partition=None, offset=None, key=None,
            raw_limit=run.raw_limit,
        )  # fmt: skip
        return _send_dead_letter(producer, letter, parsed.type, None, run)
    topic, raw, key = parsed.topic, parsed.raw, parsed.message_key
    key_bytes = None if key is None else key.encode("utf-8", "surrogatepass")
    if topic not in run.inputs:
        rejection = Rejection(Reason.BAD_REPLAY_LINE, f"topic {topic!r} is not an input topic")
        letter = DeadLetter.of(
            rejection, raw, topic=topic, partition=None, offset=None, key=key,
            raw_limit=run.raw_limit,
        )  # fmt: skip
        record_key = None if key_bytes is None else key_bytes[: run.raw_limit]
        return _send_dead_letter(producer, letter, rejection.type, record_key, run)
    return _send(producer, topic, raw, key_bytes, run.next_timestamp(parsed.timestamp), run)


def _send_dead_letter(
    producer: Any, letter: DeadLetter, reason: str, key: bytes | None, run: _Run
) -> int:
    run.dead_letter(reason)
    return _send(producer, run.dead_letter_topic, letter.to_json(), key, None, run)


def _send(
    producer: Any, topic: str, value: bytes, key: bytes | None, stamp: int | None, run: _Run
) -> int:
    run.submitted[topic] = run.submitted.get(topic, 0) + 1
    if topic in run.unavailable:
        run.fail(topic, run.unavailable[topic])
        return 0
    try:
        future = producer.send(topic, value=value, key=key, timestamp_ms=stamp)
    except KafkaTimeoutError as exc:
        # No metadata for the topic within max_block_ms: do not wait again for each line.
        run.unavailable[topic] = f"{error_text(exc)} (topic {topic})"
        run.fail(topic, run.unavailable[topic])
        return 0
    except KafkaError as exc:  # e.g. MessageSizeTooLargeError: this message only
        run.fail(topic, exc)
        return 0
    future.add_errback(_on_error, run, topic)
    return len(value)


def _on_error(run: _Run, topic: str, error: BaseException) -> None:
    run.fail(topic, error)
