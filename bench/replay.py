"""Replay throughput: growthstream vs a straightforward batch computation, side by side.

    .venv/bin/python bench/replay.py [--accounts 4000] [--days 180] [--runs 5]

Generates a synthetic world with traps (duplicates, late, out-of-order and bad
messages), then alternates, run by run, between

- `growthstream replay FILE` as a whole process (interpreter start, JSON parsing,
  validation and the engine included), and
- the reference oracle (`tests/reference/oracle.py`, plain Python: json + hand-written
  checks, simulate the stream, compute every figure by brute force at the end),
  also as a whole process,

and reports medians, events per second and their ratio; then the engine's
in-process throughput (no interpreter start). Both must produce the same snapshot.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.demo import DEMO_FX_RATES  # noqa: E402
from bench.demo_file import world_file  # noqa: E402

ORACLE = """
import sys, json
from decimal import Decimal
from tests.reference.oracle import OracleConfig, oracle_snapshot
rates = {k: Decimal(v) for k, v in json.loads(sys.argv[2]).items()}
with open(sys.argv[1], "rb") as f:
    snap = oracle_snapshot(f, OracleConfig(fx_rates=rates))
print(json.dumps({k: (str(v) if v is not None and not isinstance(v, (int, str)) else v)
                  for k, v in snap.items()}))
"""


def _timed(cmd: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout


def _normalise(snapshot: dict[str, object]) -> dict[str, object]:
    """Numbers as exact text, so the two processes' JSON compare value for value."""
    from decimal import Decimal

    out: dict[str, object] = {}
    for key, value in snapshot.items():
        if isinstance(value, float | str) and key not in ("as_of", "day"):
            try:
                out[key] = Decimal(str(value)).normalize()
                continue
            except ArithmeticError:
                pass
        out[key] = value
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=4000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()

    world = world_file(args.out, args.accounts, args.days, args.seed)
    lines = sum(1 for _ in world.open("rb"))
    rates = {k: str(v) for k, v in DEMO_FX_RATES.items()}
    env = {**os.environ, "GROWTH_FX_RATES": json.dumps(rates), "PYTHONPATH": str(ROOT)}
    snapshot_path = args.out / "snapshot.json"
    engine_cmd = [
        sys.executable,
        "-m",
        "agents.cli",
        "replay",
        str(world),
        "--snapshot",
        str(snapshot_path),
    ]
    oracle_cmd = [sys.executable, "-c", ORACLE, str(world), json.dumps(rates)]

    engine_times: list[float] = []
    oracle_times: list[float] = []
    oracle_out = ""
    for run in range(args.runs):
        seconds, _ = _timed(engine_cmd, env)
        engine_times.append(seconds)
        seconds, oracle_out = _timed(oracle_cmd, env)
        oracle_times.append(seconds)
        print(
            f"run {run + 1}: growthstream {engine_times[-1]:.2f}s, oracle {seconds:.2f}s",
            file=sys.stderr,
        )

    engine_snapshot = _normalise(json.loads(snapshot_path.read_text()))
    oracle_snapshot = _normalise(json.loads(oracle_out))
    mismatches = {
        k: (engine_snapshot.get(k), v)
        for k, v in oracle_snapshot.items()
        if engine_snapshot.get(k) != v
    }

    from agents.embedded.replay import replay_lines
    from models.settings import Settings

    data = world.read_bytes().splitlines()
    settings = Settings(fx_rates=DEMO_FX_RATES)
    in_process: list[float] = []
    for _ in range(args.runs):
        started = time.perf_counter()
        replay_lines(data, settings)
        in_process.append(time.perf_counter() - started)

    engine_median = statistics.median(engine_times)
    oracle_median = statistics.median(oracle_times)
    result = {
        "lines": lines,
        "runs": args.runs,
        "growthstream_whole_process_s": round(engine_median, 3),
        "growthstream_whole_process_events_per_s": round(lines / engine_median),
        "oracle_whole_process_s": round(oracle_median, 3),
        "oracle_whole_process_events_per_s": round(lines / oracle_median),
        "speedup_vs_oracle": round(oracle_median / engine_median, 2),
        "growthstream_in_process_events_per_s": round(lines / statistics.median(in_process)),
        "snapshots_equal": not mismatches,
    }
    (args.out / "replay.json").write_text(json.dumps(result, indent=2) + "\n")
    rows = [
        ("growthstream replay (whole process)", engine_median),
        ("reference oracle, plain Python (whole process)", oracle_median),
        ("growthstream, in process", statistics.median(in_process)),
    ]
    print(f"| {lines:,} lines, median of {args.runs} | seconds | events/s |")
    print("|---|---|---|")
    for label, seconds in rows:
        print(f"| {label} | {seconds:.2f} | {lines / seconds:,.0f} |")
    speedup, equal = result["speedup_vs_oracle"], not mismatches
    print(f"\ngrowthstream / oracle speed: {speedup}x; snapshots equal: {equal}")
    if mismatches:
        print(f"MISMATCH: {mismatches}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
