"""What a poison line costs a replay: the base stream, then the same stream with copies of
one kind of poison line mixed in, timed side by side as whole processes.

    .venv/bin/python bench/poison.py [--accounts 400] [--days 120] [--copies 20] [--runs 5]

Kinds (issue 9): an event in the year 9999 (stream time must not jump to it), a 2 MB value,
400 KB of control bytes (6 bytes each once escaped), a payment billed every 100,000 years.
Each copy has its own `event_id`, so none is a duplicate of another. Reported per kind: the
median wall time and peak memory of the replay with the copies, against the base file in the
same run, and the extra seconds per line. Every copy must be a dead letter with its reason
(or, for the long period, an applied payment), and the base figures must be unchanged.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.demo import DEMO_FX_RATES, WorldSpec, generate, write_jsonl  # noqa: E402

BIG_BYTES = 2 * 1024 * 1024
Poison = Callable[[int, str], dict[str, Any]]
"""A poison line: its number and the `occurred_at` of the line it is put before."""


def _far(n: int, _: str) -> dict[str, Any]:
    value = {"event_id": f"poison-far-{n}", "occurred_at": "9999-12-31T23:00:00Z",
             "account_id": f"poison-{n}", "user_id": "u"}  # fmt: skip
    return {"topic": "activity", "key": f"poison-{n}", "value": value, "timestamp": _NOW_MS}


def _big(n: int, at: str) -> dict[str, Any]:
    value = {"event_id": f"poison-big-{n}", "occurred_at": at,
             "account_id": f"poison-{n}", "user_id": "u", "action": "x" * BIG_BYTES}  # fmt: skip
    return {"topic": "activity", "key": f"poison-{n}", "value": value}


def _control(n: int, _: str) -> dict[str, Any]:
    return {"topic": "activity", "key": f"poison-{n}", "value": "\x01" * 400_000}


def _forever(n: int, at: str) -> dict[str, Any]:
    value = {"event_id": f"poison-forever-{n}", "occurred_at": at,
             "account_id": f"poison-{n}", "amount": "120.00", "currency": "USD",
             "interval": "year", "interval_count": 100_000}  # fmt: skip
    return {"topic": "payments", "key": f"poison-{n}", "value": value}


_NOW_MS = int(time.time() * 1000)
KINDS: dict[str, Poison] = {
    "year 9999": _far,
    "2 MB value": _big,
    "400 KB of control bytes": _control,
    "payment every 100,000 years": _forever,
}
EXPECTED_REASON = {"year 9999": "future", "2 MB value": "too_large",
                   "400 KB of control bytes": "not_json"}  # fmt: skip
"""The `error.type` of each kind's dead letters."""


def _run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds and peak resident MB of one whole process."""
    started = time.perf_counter()
    process = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed")
    return seconds, usage.ru_maxrss / 1024


def _with_poison(base: list[str], poison: Poison, copies: int) -> list[str]:
    lines = list(base)
    step = max(1, len(lines) // (copies + 1))
    for n in range(copies, 0, -1):
        lines.insert(n * step, json.dumps(poison(n, _time_near(lines, n * step))))
    return lines


def _time_near(lines: list[str], index: int) -> str:
    """The `occurred_at` of the first good line from `index` on (the stream time there)."""
    for line in lines[index:]:
        try:
            value = json.loads(line).get("value")
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get("occurred_at"), str):
            return str(value["occurred_at"])
    raise ValueError("no event after the insertion point")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=400)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "poison")
    args = parser.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    base_file = args.out / "base.jsonl"
    with base_file.open("w", encoding="utf-8") as handle:
        write_jsonl(generate(WorldSpec(seed=args.seed, accounts=args.accounts, days=args.days)),
                    handle)  # fmt: skip
    base = base_file.read_text(encoding="utf-8").splitlines()
    files = {"base": base_file}
    for kind, poison in KINDS.items():
        path = args.out / f"{kind.replace(' ', '-').replace(',', '')}.jsonl"
        path.write_text("\n".join(_with_poison(base, poison, args.copies)) + "\n", "utf-8")
        files[kind] = path

    rates = {k: str(v) for k, v in DEMO_FX_RATES.items()}
    env = {**os.environ, "GROWTH_FX_RATES": json.dumps(rates), "PYTHONPATH": str(ROOT)}

    def command(name: str) -> list[str]:
        path = files[name]
        return [sys.executable, "-m", "agents.cli", "replay", str(path),
                "--snapshot", str(path.with_suffix(".snapshot.json")),
                "--dead-letters", str(path.with_suffix(".dead.jsonl"))]  # fmt: skip

    times: dict[str, list[float]] = {name: [] for name in files}
    peaks: dict[str, list[float]] = {name: [] for name in files}
    for run in range(args.runs):
        for name in files:
            seconds, peak = _run(command(name), env)
            times[name].append(seconds)
            peaks[name].append(peak)
        print(f"run {run + 1} of {args.runs} done", file=sys.stderr)

    base_s, base_mb = statistics.median(times["base"]), statistics.median(peaks["base"])
    print(
        f"| {len(base):,} base lines, {args.copies} copies of each poison, median of "
        f"{args.runs} | seconds | vs base | extra s per line | peak MB | dead letters |"
    )
    print("|---|---|---|---|---|---|")
    print(f"| base | {base_s:.2f} | 1.00 | - | {base_mb:.0f} | - |")
    failures = []
    base_snapshot = _snapshot(files["base"])
    for kind in KINDS:
        seconds, peak = statistics.median(times[kind]), statistics.median(peaks[kind])
        reasons = _reasons(files[kind].with_suffix(".dead.jsonl"))
        extra = reasons - _reasons(files["base"].with_suffix(".dead.jsonl"))
        want = EXPECTED_REASON.get(kind)
        if want is not None and extra != Counter({want: args.copies}):
            failures.append(f"{kind}: extra dead letters {dict(extra)}, want {args.copies} {want}")
        if want is not None and _figures(_snapshot(files[kind])) != _figures(base_snapshot):
            failures.append(f"{kind}: the base figures changed")
        per_line = (seconds - base_s) / args.copies
        print(f"| {kind} | {seconds:.2f} | {seconds / base_s:.2f} | {per_line:+.4f} | {peak:.0f} "
              f"| {dict(extra) or '-'} |")  # fmt: skip
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _reasons(path: Path) -> Counter[str]:
    with path.open("rb") as handle:
        return Counter(str(json.loads(line)["error"]["type"]) for line in handle if line.strip())


def _snapshot(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.with_suffix(".snapshot.json").read_text()))


def _figures(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The snapshot without the message counters (a dead letter adds to `dead_letters`)."""
    return {k: v for k, v in snapshot.items() if k not in ("dead_letters",)}


if __name__ == "__main__":
    sys.exit(main())
