"""What the single aggregator costs per input partition per emit, and where it stops scaling.

    .venv/bin/python -m bench.aggregator [--partitions 4,16,64,256] [--emits 15]

The worker that owns the one partition of `<app>-partials` decodes every partition's
partial state and combines them each `GROWTH_CHANGE_INTERVAL_MS` (1 s). This builds one
real partial (the state benchmark's world, `bench.state.world`, through an engine:
60 days, so every kept day bucket is full, which makes it as large as a partial gets
whatever the partition's users) and feeds it for P partitions to an `Aggregator`,
every partition changed at every emit (the worst case). Per emit it times what
`agents.worker.aggregation` does in process: decode P partials (`orjson.loads` +
`view_from_json`), the global alerts, the metric changes and the snapshot. Redis and
Kafka writes are not included (they do not grow with P). Prints a markdown table and
the JSON of every figure.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

from agents.demo import DEMO_FX_RATES, WorldSpec, generate, write_jsonl  # noqa: E402
from agents.embedded.replay import replay_lines  # noqa: E402
from agents.engine_config import engine_config  # noqa: E402
from models.outputs import now_iso  # noqa: E402
from models.settings import Settings  # noqa: E402
from state.aggregate import Aggregator  # noqa: E402
from state.codec import view_from_json, view_to_json  # noqa: E402


def one_partial(accounts: int) -> bytes:
    """A partition's published partial after the demo world of `accounts` accounts (180
    days, payments, churn and surveys every day), replayed as one partition."""
    settings = Settings(fx_rates=DEMO_FX_RATES)
    buffer = io.BytesIO()
    write_jsonl(generate(WorldSpec(accounts=accounts)), buffer)
    replay = replay_lines(buffer.getvalue().splitlines(), settings)
    return orjson.dumps(view_to_json(replay.engines[0], "last"))


def timed_emits(partial: bytes, partitions: int, emits: int) -> dict[str, Any]:
    config = engine_config(Settings())
    aggregator = Aggregator(config.windows, config.alert_rules, partitions)
    decode_s: list[float] = []
    combine_s: list[float] = []
    for _ in range(emits):
        started = time.perf_counter()
        for partition in range(partitions):
            aggregator.update(partition, view_from_json(orjson.loads(partial)))
        decoded = time.perf_counter()
        aggregator.alerts()
        aggregator.changes(now_iso())
        aggregator.snapshot()
        decode_s.append(decoded - started)
        combine_s.append(time.perf_counter() - decoded)
    decode, combine = statistics.median(decode_s[1:]), statistics.median(combine_s[1:])
    return {
        "partitions": partitions,
        "decode_ms": round(decode * 1000, 2),
        "combine_ms": round(combine * 1000, 2),
        "emit_ms": round((decode + combine) * 1000, 2),
        "emit_us_per_partition": round((decode + combine) * 1e6 / partitions, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--partitions", default="4,16,64,256", help="P values (4,16,64,256)")
    parser.add_argument("--emits", type=int, default=15, help="emits per P; median (15)")
    parser.add_argument("--accounts", type=int, default=500, help="demo world accounts (500)")
    args = parser.parse_args(argv)
    if args.emits < 2:
        parser.error("--emits must be >= 2 (the first emit is a warm-up)")
    partial = one_partial(args.accounts)
    rows = [timed_emits(partial, int(p), args.emits) for p in args.partitions.split(",")]
    print(f"One partial: {len(partial):,} bytes of JSON (demo world, {args.accounts} accounts).\n")
    print("| partitions | decode ms | combine ms | emit ms | us per partition per emit |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row['partitions']} | {row['decode_ms']} | {row['combine_ms']} | "
            f"{row['emit_ms']} | {row['emit_us_per_partition']} |"
        )
    print("\n" + json.dumps({"partial_bytes": len(partial), "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
