"""What the replay benchmarks share: the demo world file they replay, and an instruction count.

One world file per (accounts, days, seed, billing) is generated once into `bench/out/` and
reused, so every benchmark of a run, and runs on other checkouts, read the same lines.
Instruction counts come from valgrind's cachegrind without cache simulation: deterministic,
where time on this shared 2-core machine is not.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from agents.demo import WorldSpec, generate, write_jsonl

_VALGRIND = ("valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null")
_IREFS = re.compile(rb"I\s+refs:\s+([\d,]+)")


def world_file(out: Path, accounts: int, days: int, seed: int, *, billing: bool = True) -> Path:
    """The demo world's replay file in `out`, generated on first use; `billing=False`: without
    BILLING.md's fields (add-ons, seats, VAT), which checkouts from before them compute alike."""
    out.mkdir(parents=True, exist_ok=True)
    plain = "" if billing else "-plain"
    world = out / f"world-{accounts}x{days}-s{seed}{plain}.jsonl"
    if not world.exists():
        print(f"generating {world.name} ...", file=sys.stderr)
        spec = WorldSpec(seed=seed, accounts=accounts, days=days, billing=billing)
        with world.open("w", encoding="utf-8") as handle:
            write_jsonl(generate(spec), handle)
    return world


def instructions(command: Sequence[str], env: Mapping[str, str], cwd: Path) -> int:
    """The instructions the process `command` executes (valgrind must be installed)."""
    done = subprocess.run([*_VALGRIND, *command], env=env, cwd=cwd, capture_output=True)
    if done.returncode != 0:
        raise SystemExit(f"{command[-1]} in {cwd} failed: {done.stderr[-800:]!r}")
    found = _IREFS.search(done.stderr)
    if found is None:
        raise SystemExit(f"no instruction count from valgrind: {done.stderr[-500:]!r}")
    return int(found.group(1).replace(b",", b""))
