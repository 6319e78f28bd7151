"""`python -m bench.worker`: the options, the run of both parts, and the output files.

Why it exists: the entry point; it runs throughput and latency (either can be
skipped), stops every child and cleans up whatever happens, then writes
`bench/out/worker.json` and prints the markdown table (see the package docstring).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench.worker
from bench.worker.cleanup import cleanup
from bench.worker.latency import LATENCY_CHANGE_INTERVAL_MS, latency
from bench.worker.probes import LATENCY_POLL_S
from bench.worker.processes import Children
from bench.worker.progress import say
from bench.worker.report import report
from bench.worker.services import ROOT, services_env
from bench.worker.throughput import THROUGHPUT_POLL_S, summarize_throughput, throughput


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.worker", description=(bench.worker.__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--events", type=int, default=1_000_000, help="throughput events (1M)")
    parser.add_argument("--partitions", type=int, default=8, help="input topic partitions (8)")
    parser.add_argument("--runs", type=int, default=3, help="runs per side (3)")
    parser.add_argument("--rate", type=int, default=5000, help="latency produce rate/s (5000)")
    parser.add_argument("--latency-seconds", type=float, default=30, help="latency duration (30)")
    parser.add_argument("--latency-runs", type=int, default=3, help="latency runs (3)")
    parser.add_argument(
        "--latency-warmup-seconds",
        type=float,
        default=5,
        help="also report latency of events produced after this (5)",
    )
    parser.add_argument("--seed", type=int, default=11, help="synthetic world seed (11)")
    parser.add_argument(
        "--worker-timeout",
        type=float,
        default=0.0,
        help="seconds per worker throughput run (default 90 + events/2000)",
    )
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument(
        "--no-services-up",
        action="store_true",
        help="do not run `scripts/services up` (services already running)",
    )
    parser.add_argument(
        "--no-precreate",
        dest="precreate",
        action="store_false",
        help="let the worker create its internal topics (exposes a start-up race, see README)",
    )
    parser.add_argument("--keep", action="store_true", help="keep topics and Redis keys")
    parser.add_argument(
        "--vs-tree",
        help="another checkout (e.g. a git worktree of an older commit): its worker runs as a "
        "third throughput side, alternated with the others, and is compared run by run",
    )
    parser.add_argument("--out", default=str(ROOT / "bench/out/worker.json"))
    args = parser.parse_args(argv)

    tag = f"{time.strftime('%m%d%H%M%S')}-{os.getpid()}"
    services = services_env(args.no_services_up)
    workdir = Path(tempfile.mkdtemp(prefix=f"gsbench-{tag}-"))
    say(f"tag {tag}; logs and Faust data dirs in {workdir}")
    children = Children()
    result: dict[str, Any] = {
        "config": {
            "events": args.events, "partitions": args.partitions, "runs": args.runs,
            "rate": args.rate, "latency_seconds": args.latency_seconds, "seed": args.seed,
            "latency_warmup_seconds": args.latency_warmup_seconds,
            "latency_runs": args.latency_runs,
            "precreate_internal_topics": args.precreate,
            "latency_change_interval_ms": LATENCY_CHANGE_INTERVAL_MS,
            "throughput_poll_s": THROUGHPUT_POLL_S, "latency_poll_s": LATENCY_POLL_S,
        },
        "machine": {
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "loadavg_at_start": os.getloadavg(),
        },
    }  # fmt: skip

    def on_signal(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    started = time.time()
    try:
        if not args.skip_throughput:
            part = throughput(args, children, services, tag, workdir)
            result["throughput"] = summarize_throughput(part)
        if not args.skip_latency:
            result["latency"] = latency(args, children, services, tag, workdir)
    finally:
        children.stop_all()
        if not args.keep:
            cleanup(services, tag)
    result["machine"]["loadavg_at_end"] = os.getloadavg()
    result["total_seconds"] = round(time.time() - started, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(report(result))
    say(f"wrote {out} ({result['total_seconds']}s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
