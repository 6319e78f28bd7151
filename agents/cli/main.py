"""`growthstream`: the command line (replay, demo, schema, produce, worker, stripe)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from agents.cli.common import UsageError
from agents.cli.embedded import cmd_demo, cmd_replay, cmd_schema, demo_rates_text
from agents.cli.kafka import cmd_produce, cmd_worker
from agents.cli.stripe import add_commands as add_stripe_commands


def _partitions(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 1024:
        raise argparse.ArgumentTypeError(f"a partition count from 1 to 1024, got {text!r}")
    return int(text)


def _rate(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not rate >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return rate


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
    replay.add_argument(
        "--accounts", metavar="ACCOUNTS.jsonl", help="write every account's read-model row"
    )
    replay.add_argument(
        "--series",
        metavar="OUT.jsonl",
        help="write every day's figures as they stand at its end, one JSON object a day",
    )
    replay.add_argument(
        "--months",
        metavar="OUT.csv",
        help="write the monthly MRR movements table (start, the five movements, end, and "
        "every figure at the month's end as end_{figure})",
    )
    replay.add_argument(
        "--cohorts",
        metavar="OUT.csv",
        help="write the cohort table (accounts and MRR by the month they first paid)",
    )
    replay.add_argument(
        "--partitions",
        type=_partitions,
        metavar="P",
        help='compute what a worker with P partitions computes (METRICS.md "Partitions")',
    )
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
        help="send the stream to the Kafka input topics (for a worker) instead of replaying it; "
        f"the worker needs GROWTH_FX_RATES='{demo_rates_text()}' for the demo's currencies",
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

    worker = commands.add_parser(
        "worker",
        help="run a Faust worker against Kafka and Redis",
        description="Run a Faust worker against Kafka and Redis. A payment in a currency "
        "without a rate in GROWTH_FX_RATES is a dead letter (unknown_currency): for the demo "
        f"world (`demo --kafka`) export GROWTH_FX_RATES='{demo_rates_text()}' first.",
    )
    worker.add_argument("-l", "--loglevel", default="info", help="log level (default info)")
    worker.add_argument("--web-port", type=int, default=6066, help="web server port (6066)")
    worker.set_defaults(run=cmd_worker)

    schema = commands.add_parser("schema", help="write the JSON Schema of every event and output")
    schema.add_argument("dir", nargs="?", default="schema", metavar="DIR")
    schema.set_defaults(run=cmd_schema)

    add_stripe_commands(commands)
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
