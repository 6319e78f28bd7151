"""`growthstream`: the command line (replay, demo, schema, and the worker's commands)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from agents.progress import Progress
from agents.replay import Record, ReplayOutputs, replay_lines
from models.jsonout import dumps
from models.settings import Settings


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
        lines, size, handle = _open_lines(args.events)
        if handle is not sys.stdin.buffer:
            stack.callback(handle.close)
        progress = Progress("replay", size)
        outputs = ReplayOutputs(
            dead_letter=_writer(stack, args.dead_letters),
            change=_writer(stack, args.changes),
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
    from agents.synthetic import DEMO_FX_RATES, WorldSpec, generate

    settings = load_settings(fx_rates={**DEMO_FX_RATES, **Settings().fx_rates})
    spec = WorldSpec(seed=args.seed, accounts=args.accounts, days=args.days)
    lines = [dumps(line).encode() for line in generate(spec)]
    if args.out:
        try:
            Path(args.out).write_bytes(b"".join(line + b"\n" for line in lines))
        except OSError as exc:
            raise UsageError(f"cannot write {args.out}: {exc.strerror}") from None
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


def cmd_schema(args: argparse.Namespace) -> int:
    from models.schema import write_schemas

    written = write_schemas(Path(args.dir))
    for path in written:
        print(path)
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
    replay.set_defaults(run=cmd_replay)

    demo = commands.add_parser("demo", help="generate a synthetic SaaS stream and show its metrics")
    demo.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    demo.add_argument(
        "--accounts", type=int, default=400, help="accounts to simulate (default 400)"
    )
    demo.add_argument("--days", type=int, default=180, help="days to simulate (default 180)")
    demo.add_argument("--out", metavar="FILE.jsonl", help="keep the generated stream in FILE")
    demo.set_defaults(run=cmd_demo)

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
