"""`growthstream replay` of this checkout against another one, side by side in one run.

    .venv/bin/python bench/replay_vs_tree.py --vs-tree ../wt-old [--accounts 2000] [--runs 15]
        [--instructions]

Both replay the same generated file as whole processes (interpreter start, imports,
validation, engine), alternating A B A B; the ratio is taken pair by pair, so the drift
of this machine's speed (~25 % within an hour) moves both sides of a pair alike. Their
snapshots must agree.

Time on a shared 2-core machine is noisy even so (pairs of one command against itself
range over +-20 %), so `--instructions` also counts, once per side, the instructions each
process executes (valgrind's cachegrind without cache simulation, `PYTHONHASHSEED=0`):
deterministic, and blind to the memory stalls that time also pays for. The count of an
empty file's replay (start-up) is given apart, and the rest per line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.demo import DEMO_FX_RATES  # noqa: E402
from bench.demo_file import instructions, world_file  # noqa: E402


def _env(tree: Path, *, hash_seed: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROWTH_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # both sides run from their compiled modules
    env["PYTHONPATH"] = str(tree)
    env["GROWTH_FX_RATES"] = json.dumps({k: str(v) for k, v in DEMO_FX_RATES.items()})
    if hash_seed:
        env["PYTHONHASHSEED"] = "0"
    return env


def _replay(world: Path, snapshot: Path) -> list[str]:
    return [sys.executable, "-m", "agents.cli", "replay", str(world), "--snapshot", str(snapshot)]


def _cpu_run(tree: Path, world: Path, snapshot: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one whole replay process."""
    started = time.perf_counter()
    child = subprocess.Popen(
        _replay(world, snapshot),
        env=_env(tree),
        cwd=tree,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert child.stderr is not None
    errors = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"replay in {tree} failed: {errors.decode(errors='replace')}")
    return usage.ru_utime + usage.ru_stime, wall


def _instructions(tree: Path, world: Path, snapshot: Path) -> int:
    return instructions(_replay(world, snapshot), _env(tree, hash_seed=True), tree)


def _snapshot(path: Path) -> dict[str, object]:
    """A snapshot without the keys only one side may write (`currency` came later)."""
    data: dict[str, object] = json.loads(path.read_text())
    data.pop("currency", None)
    return data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--vs-tree", type=Path, required=True, help="the other checkout")
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=15, help="pairs of runs (15)")
    parser.add_argument("--instructions", action="store_true", help="also count instructions")
    parser.add_argument(
        "--plain", action="store_true",
        help="a world without BILLING.md's fields (add-ons, seats, VAT), which a checkout "
        "from before them computes alike",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()
    other = args.vs_tree.resolve()
    world = world_file(args.out, args.accounts, args.days, args.seed, billing=not args.plain)
    lines = sum(1 for _ in world.open("rb"))
    sides = {"this": ROOT, "other": other}
    snapshots = {name: args.out / f"vs-snapshot-{name}.json" for name in sides}
    for name, tree in sides.items():  # warm-up: compiled modules, page cache
        _cpu_run(tree, world, snapshots[name])
    mine, theirs = _snapshot(snapshots["this"]), _snapshot(snapshots["other"])
    shared = mine.keys() & theirs.keys()  # figures added since are on one side only
    if {k: mine[k] for k in shared} != {k: theirs[k] for k in shared}:
        print("MISMATCH: the two checkouts' snapshots differ", file=sys.stderr)
        return 1

    cpu: dict[str, list[float]] = {name: [] for name in sides}
    wall: dict[str, list[float]] = {name: [] for name in sides}
    for run in range(args.runs):
        for name, tree in sides.items():
            seconds, elapsed = _cpu_run(tree, world, snapshots[name])
            cpu[name].append(seconds)
            wall[name].append(elapsed)
        print(
            f"pair {run + 1}/{args.runs}: CPU {cpu['this'][-1]:.2f} s / {cpu['other'][-1]:.2f} s",
            file=sys.stderr,
        )
    ratios = [a / b for a, b in zip(cpu["this"], cpu["other"], strict=True)]
    result: dict[str, object] = {
        "lines": lines,
        "other_tree": str(other),
        "pairs": args.runs,
        "this_cpu_s_median": round(statistics.median(cpu["this"]), 3),
        "other_cpu_s_median": round(statistics.median(cpu["other"]), 3),
        "this_wall_s_median": round(statistics.median(wall["this"]), 3),
        "other_wall_s_median": round(statistics.median(wall["other"]), 3),
        "cpu_ratio_median_of_pairs": round(statistics.median(ratios), 3),
        "cpu_ratio_min_max": [round(min(ratios), 3), round(max(ratios), 3)],
    }
    if args.instructions:
        if shutil.which("valgrind") is None:
            raise SystemExit("--instructions needs valgrind")
        empty = args.out / "empty.jsonl"
        empty.write_bytes(b"")
        per_line: dict[str, float] = {}
        for name, tree in sides.items():
            start_up = _instructions(tree, empty, snapshots[name])
            per_line[name] = (_instructions(tree, world, snapshots[name]) - start_up) / lines
            result[f"{name}_start_up_instructions"] = start_up
            result[f"{name}_instructions_per_line"] = round(per_line[name])
        result["instructions_per_line_ratio"] = round(per_line["this"] / per_line["other"], 3)
    (args.out / "replay_vs_tree.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
