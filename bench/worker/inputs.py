"""The synthetic input: lines of one demo world, and producing them onto the input topics.

Why it exists: both parts feed the worker the same kind of stream (one world,
traps on, cut at N lines, renamed to this part's topics) through the project's
own producer (`agents.kafka.producer.produce_lines`), and check that every line went.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import orjson

from bench.worker.progress import progress_printer, say

LINES_PER_ACCOUNT = 314_897 / 4000  # a 180-day world (bench/out/replay.json)


def world_lines(count: int, seed: int, rename: dict[str, str]) -> list[tuple[bytes, str | None]]:
    """The first `count` lines of one synthetic world (traps on) big enough to hold them,
    as (replay-line bytes with our topic names, event_id or None). One world, so event ids
    and account ids are unique and event time only moves forward (bar the traps)."""
    from agents.demo import WorldSpec, generate

    accounts = max(50, math.ceil(count / LINES_PER_ACCOUNT * 1.08))
    while True:
        started = time.perf_counter()
        out: list[tuple[bytes, str | None]] = []
        for line in generate(WorldSpec(seed=seed, accounts=accounts, days=180, traps=True)):
            # not in place: a duplicate trap is a copy of a line already yielded
            line = {**line, "topic": rename[str(line["topic"])]}
            value = line["value"]
            event_id = value.get("event_id") if isinstance(value, dict) else None
            out.append((orjson.dumps(line), event_id if isinstance(event_id, str) else None))
            if len(out) == count:
                say(
                    f"generated {count:,} lines ({accounts:,} accounts x 180 days, seed {seed}) "
                    f"in {time.perf_counter() - started:.1f}s"
                )
                return out
        say(f"{accounts:,} accounts gave only {len(out):,} lines; trying 25% more")
        accounts = math.ceil(accounts * 1.25)


def produce(lines: Iterator[bytes], settings: Any, total: int, what: str) -> Any:
    from agents.kafka.producer import produce_lines

    summary = produce_lines(lines, settings, progress=progress_printer(total, what))
    say(f"{what}: {summary.describe()}")
    if summary.errors or summary.skipped or summary.total != total:
        raise RuntimeError(f"{what}: produced {summary.total:,} of {total:,}: {summary.describe()}")
    return summary
