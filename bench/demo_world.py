"""Demo world generation speed: lines per second of the synthetic world, traps on.

    .venv/bin/python bench/demo_world.py [--accounts 4000] [--runs 3]

Generates `WorldSpec(accounts=N)` (the default 180 days, seed 7) in process, `--runs`
times, consuming the lines without writing them, and prints the line count and the
median time and lines per second as JSON. This is where the generator's speed is
measured; the tests only check the world's size (`tests/agents/demo/test_world.py`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.demo import WorldSpec, generate  # noqa: E402


def timed_run(spec: WorldSpec) -> tuple[int, float]:
    """(lines, seconds) of one full generation of `spec`."""
    started = time.perf_counter()
    count = sum(1 for _ in generate(spec))
    return count, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--accounts", type=int, default=4000, help="accounts (4000)")
    parser.add_argument("--runs", type=int, default=3, help="runs; the median is reported (3)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    spec = WorldSpec(accounts=args.accounts)
    counts: list[int] = []
    times: list[float] = []
    for run in range(1, args.runs + 1):
        count, seconds = timed_run(spec)
        counts.append(count)
        times.append(seconds)
        print(f"run {run}: {count} lines in {seconds:.2f} s", file=sys.stderr)
    if len(set(counts)) != 1:
        raise SystemExit(f"the same spec gave different line counts: {counts}")
    median = statistics.median(times)
    report = {
        "accounts": spec.accounts,
        "days": spec.days,
        "seed": spec.seed,
        "runs": args.runs,
        "lines": counts[0],
        "median_s": round(median, 3),
        "lines_per_s": round(counts[0] / median),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
