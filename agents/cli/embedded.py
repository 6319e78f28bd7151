"""The commands that run the engine in this process: replay, demo, schema."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path

from agents.cli.common import (
    UsageError,
    load_settings,
    open_input,
    write_accounts,
    write_csv,
    write_json,
    write_text,
    writer,
)
from agents.cli.progress import Progress
from agents.embedded.replay import ReplayOutputs, replay_lines
from models.csvout import csv_text
from models.jsonout import dumps
from models.settings import Settings
from models.tables import CohortRow
from state.month_tables import MONTH_CSV_COLUMNS, month_csv_rows


def cmd_replay(args: argparse.Namespace) -> int:
    settings = load_settings()
    with ExitStack() as stack:
        lines, size, progress = open_input(stack, args.events, "replay")
        outputs = ReplayOutputs(
            dead_letter=writer(stack, args.dead_letters),
            change=writer(stack, args.changes),
            alert=writer(stack, args.alerts),
            progress=progress.update,
        )
        started = time.perf_counter()
        try:
            engine = replay_lines(lines, settings, outputs, partitions=args.partitions)
        except OSError as exc:
            raise UsageError(f"cannot read {args.events}: {exc.strerror}") from None
        elapsed = time.perf_counter() - started
        progress.close(size or 0, engine.events + engine.duplicates + engine.dead_letters)
        write_json(args.snapshot, engine.snapshot())
        if args.accounts:
            write_accounts(args.accounts, engine.accounts())
        if args.series:
            _write_lines(args.series, engine.series())
        if args.months:
            write_text(args.months, csv_text(month_csv_rows(engine.months()), MONTH_CSV_COLUMNS))
        if args.cohorts:
            write_csv(args.cohorts, engine.cohorts(), list(CohortRow.model_fields))
    total = engine.events + engine.duplicates + engine.dead_letters
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(outputs.dead_letter_reasons.items()))
    print(
        f"replayed {total:,} messages in {elapsed:.2f}s: {engine.events:,} applied, "
        f"{engine.duplicates:,} duplicates, {engine.dead_letters:,} dead letters"
        + (f" ({reasons})" if reasons else ""),
        file=sys.stderr,
    )
    return 0


def _write_lines(path: str, rows: Sequence[Mapping[str, object]]) -> None:
    write_text(path, "".join(dumps(row) + "\n" for row in rows))


def _configured_topics(settings: Settings) -> dict[object, str]:
    """The demo writes the default topic names: each one as this run's settings name it
    (`GROWTH_TOPIC_SIGNUPS`, ...), so the stream goes to, and replays from, those topics."""
    inputs = ("signups", "payments", "cancellations", "activity", "surveys")
    return {
        Settings.model_fields[f"topic_{name}"].default: getattr(settings, f"topic_{name}")
        for name in inputs
    }


def demo_rates_text() -> str:
    """`GROWTH_FX_RATES` as the demo world needs it (README's live demo exports this)."""
    from agents.demo import DEMO_FX_RATES

    return dumps(DEMO_FX_RATES)


def demo_settings(*, to_kafka: bool) -> Settings:
    """The settings the demo computes with: the demo world pays in USD, EUR and GBP, so the
    rates `GROWTH_FX_RATES` lacks are taken from the demo's (in USD). Rates in USD cannot
    serve another reporting currency (docs/DECISIONS.md 50): then the user's rates must name
    every demo currency. With `--kafka` a worker computes, with its own settings: a warning
    says when these settings would dead-letter the demo's payments there."""
    from agents.demo import DEMO_FX_RATES

    settings = load_settings()
    missing = [code for code in DEMO_FX_RATES if code not in settings.fx_rates]
    if not missing:
        return settings
    if to_kafka:
        print(
            f"growthstream: warning: GROWTH_FX_RATES has no rate for {', '.join(missing)}: a "
            f"worker with these settings dead-letters their payments (unknown_currency); "
            f"export GROWTH_FX_RATES='{demo_rates_text()}' for the worker and the demo",
            file=sys.stderr,
        )
    if settings.reporting_currency != "USD":
        raise UsageError(
            f"the demo's rates are in USD; with GROWTH_REPORTING_CURRENCY="
            f"{settings.reporting_currency} set GROWTH_FX_RATES in "
            f"{settings.reporting_currency} for {', '.join(DEMO_FX_RATES)}"
        )
    return load_settings(fx_rates={**DEMO_FX_RATES, **settings.fx_rates})


def cmd_demo(args: argparse.Namespace) -> int:
    from agents.cli.dashboard import render
    from agents.cli.months_table import render_months
    from agents.demo import WorldSpec, generate

    if args.rate and not args.kafka:
        raise UsageError("--rate paces the messages sent to Kafka: it needs --kafka")
    settings = demo_settings(to_kafka=args.kafka)
    spec = WorldSpec(seed=args.seed, accounts=args.accounts, days=args.days)
    names = _configured_topics(settings)
    lines = [dumps({**line, "topic": names.get(line["topic"], line["topic"])}).encode()
             for line in generate(spec)]  # fmt: skip
    if args.out:
        try:
            Path(args.out).write_bytes(b"".join(line + b"\n" for line in lines))
        except OSError as exc:
            raise UsageError(f"cannot write {args.out}: {exc.strerror}") from None
    if args.kafka:
        from agents.cli.kafka import demo_to_kafka

        return demo_to_kafka(args, lines)
    progress = Progress("replay", len(lines))
    outputs = ReplayOutputs(progress=lambda _read, count: progress.update(count, count))
    started = time.perf_counter()
    engine = replay_lines(lines, settings, outputs)
    elapsed = time.perf_counter() - started
    progress.close(len(lines), len(lines))
    print(render(engine.snapshot(), color=sys.stdout.isatty(), window_days=settings.window_days))
    months = render_months(engine.months())
    if months:
        print(f"\n{months}\n")
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
