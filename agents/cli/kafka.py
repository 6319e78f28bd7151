"""The commands that talk to Kafka: produce, demo --kafka, worker."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from typing import TYPE_CHECKING

from agents.cli.common import UsageError, load_settings, open_input
from agents.cli.progress import Progress
from models.settings import Settings

if TYPE_CHECKING:
    from agents.kafka.producer import ProduceSummary


def demo_to_kafka(args: argparse.Namespace, lines: list[bytes]) -> int:
    """`demo --kafka`: the generated world onto the input topics, for a worker to compute."""
    from agents.kafka.producer import paced

    settings = load_settings()
    progress = Progress("produce", len(lines))
    summary = _to_kafka(
        settings, paced(lines, args.rate), lambda _read, count: progress.update(count, count)
    )
    progress.close(len(lines), summary.lines)
    code = _report(summary)
    print(
        f"{len(lines):,} generated messages (seed {args.seed}) sent to Kafka at "
        f"{settings.kafka_bootstrap_servers}; `growthstream worker` computes their metrics"
        + (f"; stream kept in {args.out}" if args.out else ""),
    )
    return code


def cmd_produce(args: argparse.Namespace) -> int:
    """Publish a replay file to the input topics, as the product's buses would."""
    settings = load_settings()
    with ExitStack() as stack:
        lines, size, progress = open_input(stack, args.events, "produce")
        try:
            summary = _to_kafka(settings, lines, progress.update)
        except OSError as exc:
            raise UsageError(f"cannot read {args.events}: {exc.strerror}") from None
        progress.close(size or 0, summary.lines)
    return _report(summary)


def _to_kafka(
    settings: Settings, lines: Iterable[bytes], progress: Callable[[int, int], None]
) -> ProduceSummary:
    """Create the topics, then produce `lines`; a broker that does not answer is a UsageError."""
    from kafka.errors import KafkaError

    from agents.kafka.producer import produce_lines
    from agents.kafka.topics import ensure_topics

    replication = _topic_replication()
    try:
        ensure_topics(settings, replication=replication)
        return produce_lines(lines, settings, progress=progress)
    except KafkaError as exc:
        raise UsageError(_kafka_problem(settings, exc)) from None


def _topic_replication() -> int:
    """GROWTH_TOPIC_REPLICATION (default 1): only topic creation needs it, so not a Setting."""
    text = os.environ.get("GROWTH_TOPIC_REPLICATION", "").strip()
    if not text:
        return 1
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"bad setting GROWTH_TOPIC_REPLICATION: not a positive integer: {text!r}")
    return int(text)


def _kafka_problem(settings: Settings, exc: Exception) -> str:
    from kafka.errors import KafkaTimeoutError

    from agents.kafka.config import error_text

    text = error_text(exc)[:300]
    servers = settings.kafka_bootstrap_servers
    if isinstance(exc, KafkaTimeoutError):
        return f"cannot reach Kafka at {servers}: {text}"
    return f"Kafka error at {servers}: {text}"


def _report(summary: ProduceSummary) -> int:
    """The one-line summary (every dead-letter reason and error, counted), on stderr; 1 if
    any send failed."""
    print(summary.describe(), file=sys.stderr)
    return 1 if summary.errors else 0


def cmd_worker(args: argparse.Namespace) -> int:
    from faust.worker import Worker

    from agents.kafka.topics import ensure_topics
    from agents.worker.app import build_app
    from agents.worker.collector import settle_for_streaming
    from agents.worker.logs import library_level, log_startup, quiet_libraries
    from agents.worker.topics import internal_topics

    settings = load_settings()
    try:
        quiet_libraries(library_level(os.environ))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        ensure_topics(settings, extra=internal_topics(settings), replication=_topic_replication())
    except Exception as exc:
        raise UsageError(_kafka_problem(settings, exc)) from None
    app = build_app(settings, web_port=args.web_port)

    async def started() -> None:
        log_startup(settings, settings.web_host, args.web_port)

    app.task(started)
    settle_for_streaming()
    Worker(app, loglevel=args.loglevel, quiet=True).execute_from_commandline()
    return 0
