"""What the history costs in state: bytes per kept day and per active user.

    .venv/bin/python bench/history_cost.py [--accounts 2000] [--days 730]

Replays a generated world (`WorldSpec(accounts, days)`, seed 7) in process and reports,
from the engine at the end:

- the history's checkpoint bytes (its final rows, `h:{day}` records, and its open days,
  in the meta record) per kept day;
- the months and cohort cells' checkpoint bytes per month;
- per active user: the in-memory bytes of the packed active-day ints (`sys.getsizeof`;
  an int shared by several users counted once) against one shared day number each, which
  is what a user held before the active-day bits, and the share of users with earlier days.

Replay throughput with and without the history is `bench/replay_vs_tree.py --vs-tree` of
a checkout without it (README "What the history costs").
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.demo import DEMO_FX_RATES, WorldSpec, generate  # noqa: E402
from agents.embedded.replay import replay_lines  # noqa: E402
from models.settings import Settings  # noqa: E402
from state.activity import unpack  # noqa: E402
from state.checkpoint_records import all_records  # noqa: E402


def measure(accounts: int, days: int) -> dict[str, object]:
    lines = [
        orjson.dumps(line, default=str)
        for line in generate(WorldSpec(accounts=accounts, days=days))
    ]
    engine = replay_lines(lines, Settings(fx_rates=DEMO_FX_RATES)).engine
    records = dict(all_records(engine, 1))
    history_bytes = sum(len(orjson.dumps(v)) for k, v in records.items() if k.startswith("h:"))
    open_bytes = len(orjson.dumps(records["meta"]["history"]))
    month_bytes = sum(len(orjson.dumps(v)) for k, v in records.items() if k.startswith("m:"))
    history = engine.history
    kept_days = len(history.final) + len(history.open)
    active = engine.activity.active
    seen: set[int] = set()
    packed_bytes = 0
    for held in active.values():
        if id(held) not in seen:
            seen.add(id(held))
            packed_bytes += sys.getsizeof(held)
    latest_days = {unpack(h)[0] for h in active.values()}
    day_bytes = sum(sys.getsizeof(d) for d in latest_days)
    with_earlier = sum(1 for h in active.values() if unpack(h)[1])
    users = len(active)
    return {
        "lines": len(lines),
        "kept_days": kept_days,
        "history_checkpoint_bytes_per_day": round((history_bytes + open_bytes) / max(kept_days, 1)),
        "months": len(engine.months.months),
        "months_checkpoint_bytes_per_month": round(month_bytes / max(len(engine.months.months), 1)),
        "active_users": users,
        "users_with_earlier_days": with_earlier,
        "active_days_bytes_per_user": round(packed_bytes / max(users, 1), 1),
        "latest_day_only_bytes_per_user": round(day_bytes / max(users, 1), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--days", type=int, default=730)
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.accounts, args.days), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
