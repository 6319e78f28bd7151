"""`python -m bench.state`: the options, both parts, the cleanup and the output files.

Why it exists: the entry point; it builds the large world and the same world at
1/10 of the accounts, runs the engine part and (unless `--engine-only`) the broker
part on both, stops every child and deletes the invocation's topics and Redis keys
whatever happens, then writes `bench/out/state.json` and prints the tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench.state
from bench.state.engine_part import engine_part
from bench.state.report import report
from bench.state.world import World
from bench.worker.cleanup import cleanup
from bench.worker.processes import Children
from bench.worker.progress import say
from bench.worker.services import ROOT, services_env


def options(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.state", description=(bench.state.__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--accounts", type=int, default=2000, help="large world accounts (2000)")
    parser.add_argument("--small-divisor", type=int, default=10,
                        help="the small world has accounts / this (10)")  # fmt: skip
    parser.add_argument("--users", type=int, default=40, help="users per account (40)")
    parser.add_argument("--events-per-day", type=int, default=2, help="per user (2)")
    parser.add_argument("--days", type=int, default=20, help="days of the world (20)")
    parser.add_argument("--runs", type=int, default=2, help="engine runs per world (2; 0 skips)")
    parser.add_argument("--worker-runs", type=int, default=1, help="worker runs per world (1)")
    parser.add_argument("--sample-seconds", type=float, default=0.5,
                        help="worker sampling interval (0.5)")  # fmt: skip
    parser.add_argument(
        "--latency-seconds",
        type=float,
        default=20.0,
        help="paced 5,000 events/s into the recovered large world (20; 0 skips)",
    )
    parser.add_argument(
        "--census-seconds",
        type=float,
        default=0.0,
        help="run the worker under bench.state.census, one census every so many s (0: not)",
    )
    parser.add_argument("--engine-only", action="store_true", help="skip the broker part")
    parser.add_argument("--services-up", action="store_true",
                        help="run `scripts/services up` first (it is idempotent)")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep topics and Redis keys")
    parser.add_argument("--out", default=str(ROOT / "bench/out/state.json"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    large = World.ending_before_today(args.accounts, args.users, args.events_per_day, args.days)
    small = World(
        max(1, args.accounts // args.small_divisor), large.users, large.per_day, large.days,
        large.start_day,
    )  # fmt: skip
    worlds = {"large": large, "small": small}
    result: dict[str, Any] = {
        "config": vars(args),
        "worlds": {n: w.as_json() | {"events": w.events, "counts": w.counts()}
                   for n, w in worlds.items()},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "loadavg_at_start": os.getloadavg()},
    }  # fmt: skip
    for name, world in worlds.items():
        say(f"{name} world: {world.events:,} events, {world.total_users:,} users")

    def on_signal(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    started = time.time()
    if args.runs > 0:
        result["engine"] = engine_part(worlds, args.runs)
    status = 0
    if not args.engine_only:
        try:
            broker(args, worlds, result)
        except Exception as exc:
            result["broker_error"] = f"{type(exc).__name__}: {exc}"
            say(f"broker part failed: {result['broker_error']}")
            status = 1
    result["machine"]["loadavg_at_end"] = os.getloadavg()
    result["total_seconds"] = round(time.time() - started, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(report(result))
    say(f"wrote {out} ({result['total_seconds']}s in all)")
    return status


def broker(args: argparse.Namespace, worlds: dict[str, World], result: dict[str, Any]) -> None:
    from bench.state.broker_part import broker_part

    tag = f"state-{time.strftime('%m%d%H%M%S')}-{secrets.token_hex(3)}"
    services = services_env(not args.services_up)
    workdir = Path(tempfile.mkdtemp(prefix=f"gsbench-{tag}-"))
    say(f"broker part: tag {tag}; worker logs and data dirs in {workdir}")
    result["broker_tag"] = tag
    children = Children()
    result["services_at_start"] = services_status()
    try:
        result["broker"] = broker_part(args, children, services, tag, worlds, workdir)
    finally:
        children.stop_all()
        if not args.keep:
            cleanup(services, tag)
        result["services_at_end"] = services_status()
        if result["services_at_end"] != result["services_at_start"]:
            say(f"the services changed during the run (restarted by other work?): "
                f"{result['services_at_start']} -> {result['services_at_end']}")  # fmt: skip


def services_status() -> str:
    """`scripts/services status` (pids included): a broker restarted meanwhile shows."""
    done = subprocess.run(
        ["bash", str(ROOT / "scripts/services"), "status"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    return done.stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
