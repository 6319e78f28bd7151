"""What each part of the per-message path costs, in instructions (valgrind), per line.

    .venv/bin/python bench/engine_cost.py [--lines 40000] [--accounts 2000] [--days 180]
        [--vs-tree ../wt-old]

Counts are deterministic where time on this shared 2-core machine is not, so parts that
cost a few per cent can be told apart. Each variant runs in its own process under
cachegrind without cache simulation (`PYTHONHASHSEED=0`) on the first `--lines` lines of
the `demo --accounts 2000` world without BILLING.md's fields (`bench/replay_vs_tree.py
--plain`'s file), and the count of a process that only decodes them is taken out:

- `decode`: each line validated whole by the good-line validator (`models.replay_line`),
  against a process that reads the lines, imports and builds the validator, and stops;
- `engine`: the decoded events through `Engine.apply`;
- `engine, no duplicates rule`: the same with `SeenIds.admit` cut to "not seen" (METRICS.md
  "Duplicates": the id's key, its lookups, its queue and the expiry);
- `engine, no activity rule`: the same with the activity rule cut (the user's active-day
  bits, the account's last activity and usage timer).

A cut variant computes wrong figures; it only says what the part costs. With `--vs-tree`,
the decode and engine counts of another checkout are taken the same way, where its API is
this one's or f683549's (before the agents/ reshaping: `Engine(settings)`, `apply(event)`).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.demo import DEMO_FX_RATES  # noqa: E402
from bench.demo_file import instructions, world_file  # noqa: E402

VARIANTS = ("start", "decode", "engine", "no_duplicates", "no_activity")

_CHILD = r"""
import sys
tree, path, lines, variant = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
sys.path.insert(0, tree)
with open(path, "rb") as handle:
    raw = [line for _, line in zip(range(lines), handle)]
import os
from models.settings import Settings
from state.engine import Engine
# f683549 (no state/pipeline.py): the engine took the settings, and apply the event alone.
# Tested by file: the editable install would find this checkout's modules for the other's.
before_reshape = not os.path.exists(os.path.join(tree, "state", "pipeline.py"))
if before_reshape:
    from models.envelope import good_line_validator
else:
    from models.replay_line import good_line_validator
    from agents.engine_config import engine_config
settings = Settings()
good_line = good_line_validator(settings)
if variant == "start":
    raise SystemExit(0)
events = [good[0] for good in map(good_line, raw) if good is not None]
if variant == "decode":
    raise SystemExit(0)
if variant == "no_duplicates":
    from state.dedupe import SeenIds
    SeenIds.admit = lambda *args, **kwargs: True
if variant == "no_activity":
    Engine._activity = lambda self, event, at: 0
if before_reshape:
    apply = Engine(settings).apply
    for event in events:
        apply(event)
else:
    apply = Engine(engine_config(settings)).apply
    for event in events:
        apply(event, None)
"""


def _count(tree: Path, world: Path, lines: int, variant: str) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROWTH_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONHASHSEED"] = "0"
    env["GROWTH_FX_RATES"] = json.dumps({k: str(v) for k, v in DEMO_FX_RATES.items()})
    command = [sys.executable, "-c", _CHILD, str(tree), str(world), str(lines), variant]
    subprocess.run(command, env=env, cwd=tree, check=True)  # compiled modules, page cache
    return instructions(command, env, tree)


def _costs(tree: Path, world: Path, lines: int, variants: tuple[str, ...]) -> dict[str, int]:
    counts = {variant: _count(tree, world, lines, variant) for variant in variants}
    costs = {"decode": round((counts["decode"] - counts["start"]) / lines)}
    for variant in variants[2:]:
        costs[variant] = round((counts[variant] - counts["decode"]) / lines)
    return costs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=40_000)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--vs-tree", type=Path, help="another checkout: its decode and engine")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()
    world = world_file(args.out, args.accounts, args.days, args.seed, billing=False)
    print(f"counting {ROOT} ...", file=sys.stderr)
    per_line = {"this": _costs(ROOT, world, args.lines, VARIANTS)}
    result: dict[str, object] = {"lines": args.lines, "instructions_per_line": per_line}
    if args.vs_tree is not None:
        other = args.vs_tree.resolve()
        print(f"counting {other} ...", file=sys.stderr)
        result["other_tree"] = str(other)
        per_line["other"] = _costs(other, world, args.lines, VARIANTS[:3])
    (args.out / "engine_cost.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
