"""`growthstream`: the command line (replay, demo, schema, and the worker's commands)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pydantic import ValidationError

from agents.progress import Progress
from agents.replay import Record, ReplayOutputs, replay_lines
from models.jsonout import dumps
from models.settings import Settings

if TYPE_CHECKING:
    from agents.kafka_io import ProduceSummary


class UsageError(Exception):
    """A problem the user can fix (missing file, bad setting): one line, exit 2."""


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        name = f"GROWTH_{where.upper()}" if where else "settings"
        raise UsageError(f"bad setting {name}: {first['msg']}") from None


def _open_lines(path: str) -> tuple[Iterator[bytes], int | None, IO[bytes]]:
    if path == "-":
        return iter(sys.stdin.buffer), None, sys.stdin.buffer
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the caller's ExitStack
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"is a directory, not a replay file: {path}") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    return iter(handle), os.fstat(handle.fileno()).st_size, handle


def _open_input(
    stack: ExitStack, path: str, label: str
) -> tuple[Iterator[bytes], int | None, Progress]:
    """The lines of a replay file (or stdin), closed with `stack`, and a progress bar for them."""
    lines, size, handle = _open_lines(path)
    if handle is not sys.stdin.buffer:
        stack.callback(handle.close)
    return lines, size, Progress(label, size)


def _writer(stack: ExitStack, path: str | None) -> Callable[[Record], None] | None:
    if path is None:
        return None
    try:
        out = sys.stdout if path == "-" else stack.enter_context(open(path, "w", encoding="utf-8"))  # noqa: SIM115
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None

    def write(record: Record) -> None:
        out.write(dumps(record))
        out.write("\n")

    return write


def _write_json(path: str, value: Any) -> None:
    text = dumps(value) + "\n"
    if path == "-":
        sys.stdout.write(text)
        return
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


def cmd_replay(args: argparse.Namespace) -> int:
    settings = load_settings()
    with ExitStack() as stack:
        lines, size, progress = _open_input(stack, args.events, "replay")
        outputs = ReplayOutputs(
            dead_letter=_writer(stack, args.dead_letters),
            change=_writer(stack, args.changes),
            alert=_writer(stack, args.alerts),
            progress=progress.update,
        )
        started = time.perf_counter()
        try:
            engine = replay_lines(lines, settings, outputs)
        except OSError as exc:
            raise UsageError(f"cannot read {args.events}: {exc.strerror}") from None
        elapsed = time.perf_counter() - started
        progress.close(size or 0, engine.events + engine.duplicates + engine.dead_letters)
        _write_json(args.snapshot, engine.snapshot())
    total = engine.events + engine.duplicates + engine.dead_letters
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(outputs.dead_letter_reasons.items()))
    print(
        f"replayed {total:,} messages in {elapsed:.2f}s: {engine.events:,} applied, "
        f"{engine.duplicates:,} duplicates, {engine.dead_letters:,} dead letters"
        + (f" ({reasons})" if reasons else ""),
        file=sys.stderr,
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from agents.dashboard import render
    from agents.demo import DEMO_FX_RATES, WorldSpec, generate

    if args.rate and not args.kafka:
        raise UsageError("--rate paces the messages sent to Kafka: it needs --kafka")
    settings = load_settings(fx_rates={**DEMO_FX_RATES, **Settings().fx_rates})
    spec = WorldSpec(seed=args.seed, accounts=args.accounts, days=args.days)
    lines = [dumps(line).encode() for line in generate(spec)]
    if args.out:
        try:
            Path(args.out).write_bytes(b"".join(line + b"\n" for line in lines))
        except OSError as exc:
            raise UsageError(f"cannot write {args.out}: {exc.strerror}") from None
    if args.kafka:
        return _demo_to_kafka(args, lines)
    progress = Progress("replay", len(lines))
    outputs = ReplayOutputs(progress=lambda _read, count: progress.update(count, count))
    started = time.perf_counter()
    engine = replay_lines(lines, settings, outputs)
    elapsed = time.perf_counter() - started
    progress.close(len(lines), len(lines))
    print(
        render(
            engine.snapshot(),
            color=sys.stdout.isatty(),
            reporting_currency=settings.reporting_currency,
        )
    )
    print(
        f"{len(lines):,} generated messages (seed {args.seed}) replayed in {elapsed:.2f}s"
        + (f"; stream kept in {args.out}" if args.out else ""),
    )
    return 0


def _demo_to_kafka(args: argparse.Namespace, lines: list[bytes]) -> int:
    """`demo --kafka`: the generated world onto the input topics, for a worker to compute."""
    from agents.kafka_io import paced

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
        lines, size, progress = _open_input(stack, args.events, "produce")
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

    from agents.kafka_io import ensure_topics, produce_lines

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

    text = " ".join(str(exc).split())[:300]
    if type(exc).__name__ not in text:  # kafka-python 3.x puts the class name in str(exc)
        text = f"{type(exc).__name__}: {text}"
    servers = settings.kafka_bootstrap_servers
    if isinstance(exc, KafkaTimeoutError):
        return f"cannot reach Kafka at {servers}: {text}"
    return f"Kafka error at {servers}: {text}"


def _report(summary: ProduceSummary) -> int:
    """The skipped/failed examples and the one-line summary, on stderr; 1 if any send failed."""
    for example in summary.examples:
        print(f"growthstream: {example}", file=sys.stderr)
    print(summary.describe(), file=sys.stderr)
    return 1 if summary.errors else 0


def _rate(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not rate >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return rate


def cmd_schema(args: argparse.Namespace) -> int:
    from models.schema import write_schemas

    written = write_schemas(Path(args.dir))
    for path in written:
        print(path)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from faust.worker import Worker

    from agents.app import build_app, internal_topics
    from agents.kafka_io import ensure_topics

    settings = load_settings()
    try:
        ensure_topics(settings, extra=internal_topics(settings), replication=_topic_replication())
    except Exception as exc:
        raise UsageError(
            f"cannot reach Kafka at {settings.kafka_bootstrap_servers}: {type(exc).__name__}: {exc}"
        ) from None
    app = build_app(settings, web_port=args.web_port)
    Worker(app, loglevel=args.loglevel, quiet=True).execute_from_commandline()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="growthstream",
        description="Live SaaS growth metrics (MRR movements, churn, retention, DAU/WAU/MAU, NPS) "
        "from product events. Settings come from GROWTH_* environment variables.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    replay = commands.add_parser("replay", help="replay a JSON-lines event file through the engine")
    replay.add_argument("events", metavar="EVENTS.jsonl", help="replay file, or - for stdin")
    replay.add_argument(
        "--snapshot", default="-", metavar="OUT.json", help="snapshot file (- = stdout)"
    )
    replay.add_argument("--changes", metavar="CHANGES.jsonl", help="write every metric change")
    replay.add_argument("--dead-letters", metavar="DL.jsonl", help="write every dead letter")
    replay.add_argument("--alerts", metavar="ALERTS.jsonl", help="write every churn alert")
    replay.set_defaults(run=cmd_replay)

    demo = commands.add_parser("demo", help="generate a synthetic SaaS stream and show its metrics")
    demo.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    demo.add_argument(
        "--accounts", type=int, default=400, help="accounts to simulate (default 400)"
    )
    demo.add_argument("--days", type=int, default=180, help="days to simulate (default 180)")
    demo.add_argument("--out", metavar="FILE.jsonl", help="keep the generated stream in FILE")
    demo.add_argument(
        "--kafka",
        action="store_true",
        help="send the stream to the Kafka input topics (for a worker) instead of replaying it",
    )
    demo.add_argument(
        "--rate",
        type=_rate,
        default=0.0,
        metavar="N",
        help="with --kafka: about N messages a second, for a live demo (default 0 = at once)",
    )
    demo.set_defaults(run=cmd_demo)

    produce = commands.add_parser(
        "produce", help="publish a JSON-lines replay file to the Kafka input topics"
    )
    produce.add_argument("events", metavar="FILE.jsonl", help="replay file, or - for stdin")
    produce.set_defaults(run=cmd_produce)

    worker = commands.add_parser("worker", help="run a Faust worker against Kafka and Redis")
    worker.add_argument("-l", "--loglevel", default="info", help="log level (default info)")
    worker.add_argument("--web-port", type=int, default=6066, help="web server port (6066)")
    worker.set_defaults(run=cmd_worker)

    schema = commands.add_parser("schema", help="write the JSON Schema of every event and output")
    schema.add_argument("dir", nargs="?", default="schema", metavar="DIR")
    schema.set_defaults(run=cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except UsageError as exc:
        print(f"growthstream: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("growthstream: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return code


if __name__ == "__main__":
    sys.exit(main())
