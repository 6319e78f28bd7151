"""`growthstream stripe convert` and `stripe import`: a file of Stripe events (an export
of `/v1/events`, one event object a line) as a replay file, or onto the input topics."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING

from agents.cli.common import UsageError, load_settings, open_input, write_text, writer
from models.settings import Settings

if TYPE_CHECKING:
    from agents.stripe.convert import Conversion


def _converted(stack: ExitStack, args: argparse.Namespace, settings: Settings) -> Conversion:
    """The input file's events mapped; the rejected ones' dead letters written to
    `--rejected` when given."""
    from agents.stripe.convert import convert  # only this command needs the mapping

    lines, size, progress = open_input(stack, args.events, "convert")
    try:
        by_time = args.order == "time"
        conversion = convert(_counted(lines, progress.update), settings, by_time=by_time)
    except OSError as exc:
        raise UsageError(f"cannot read {args.events}: {exc.strerror}") from None
    progress.close(size or 0, conversion.summary.read)
    write = writer(stack, args.rejected)
    if write is not None:
        for letter in conversion.dead_letters:
            write(letter)
    return conversion


def _counted(lines: Iterable[bytes], update: Callable[[int, int], None]) -> Iterator[bytes]:
    """The lines, telling the progress bar as they are read."""
    read = 0
    for number, line in enumerate(lines, 1):
        read += len(line)
        update(read, number)
        yield line


def cmd_stripe_convert(args: argparse.Namespace) -> int:
    """Write the replay file; the summary goes to stderr, as `replay`'s does. Rejected
    events are counted (and written with `--rejected`) but do not fail the command, as
    `replay`'s dead letters do not."""
    settings = load_settings()
    with ExitStack() as stack:
        conversion = _converted(stack, args, settings)
        write_text(args.out, "".join(line.decode() + "\n" for line in conversion.lines))
    print(
        f"{conversion.summary.describe()}; {len(conversion.lines):,} replay lines written to "
        f"{'stdout' if args.out == '-' else args.out}",
        file=sys.stderr,
    )
    return 0


def cmd_stripe_import(args: argparse.Namespace) -> int:
    """Publish the mapped events to the input topics (keyed by account), as `produce`
    publishes a replay file, and each event that cannot be mapped as a dead letter on the
    dead-letters topic (as the webhook does); 1 if any send failed."""
    from agents.cli.kafka import _report, _to_kafka
    from agents.cli.progress import Progress
    from agents.kafka.producer import produce_dead_letters

    settings = load_settings()
    with ExitStack() as stack:
        conversion = _converted(stack, args, settings)
    print(conversion.summary.describe(), file=sys.stderr)
    lines = conversion.lines
    progress = Progress("produce", len(lines))
    summary = _to_kafka(settings, lines, lambda _read, count: progress.update(count, count))
    progress.close(len(lines), summary.lines)
    code = _report(summary)
    letters = conversion.dead_letters
    if letters:
        failed = produce_dead_letters(letters, settings)
        print(
            f"{len(letters) - failed:,} dead letters published to {settings.topic_dead_letters}"
            + (f"; {failed:,} failed" if failed else ""),
            file=sys.stderr,
        )
        code = max(code, 1 if failed else 0)
    return code


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`stripe convert` and `stripe import` under `growthstream`."""
    stripe = commands.add_parser(
        "stripe",
        help="Stripe as a source: convert or import an export of Stripe events",
        description="Stripe webhook events (API version 2025-03-31.basil or later, one event "
        "object a line) as growthstream's input events (docs/STRIPE.md). The worker also "
        "accepts them live on POST /webhooks/stripe (GROWTH_STRIPE_WEBHOOK_SECRET).",
    )
    sub = stripe.add_subparsers(dest="stripe_command", required=True, metavar="COMMAND")
    for name, run, text in (
        ("convert", cmd_stripe_convert, "write the events as a replay file"),
        ("import", cmd_stripe_import, "publish the events to the Kafka input topics"),
    ):
        command = sub.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        command.add_argument("events", metavar="FILE.jsonl", help="Stripe events, or - for stdin")
        if name == "convert":
            command.add_argument("out", metavar="OUT.jsonl", help="replay file (- = stdout)")
        command.add_argument(
            "--rejected",
            metavar="DL.jsonl",
            help="write a dead letter for every Stripe event that cannot be mapped",
        )
        command.add_argument(
            "--order",
            choices=("time", "file"),
            default="time",
            help="order of the events: by event time (default; an export lists the newest "
            "first) or as in the file",
        )
        command.set_defaults(run=run)
