"""Part 1: the engine alone, large and small world alternately, one process per run.

Why it exists: the two sizes are compared run by run on the same machine state (the
order flips every run, so neither always gets the warmer machine), each run in a
fresh interpreter (`bench.state.engine_run`) so that its RSS is its own world's;
the runs of a size are summarized as per-segment and end medians.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from bench.state.world import World
from bench.worker.progress import say
from bench.worker.services import ROOT
from bench.worker.stats import median

SEGMENT_KEYS = ("events_per_s", "rss_bytes", "users", "remembered_ids")
CHECKPOINT_KEYS = ("records", "bytes", "seconds")
END_KEYS = (
    "events", "users", "accounts", "remembered_ids", "respondents", "rss_start_bytes",
    "rss_end_bytes", "rss_peak_bytes", "rss_per_user_bytes", "rss_growth_per_user_bytes",
    "engine_rss_growth_per_user_bytes", "store_keys", "store_bytes",
    "store_memory_estimate_bytes", "restore_seconds", "rss_end_trimmed_bytes",
    "restored_engine_heap_bytes", "restored_engine_heap_per_user_bytes",
    "feed_seconds", "events_per_s", "last_over_first",
)  # fmt: skip


def one_run(world: World, label: str) -> dict[str, Any]:
    spec = json.dumps({"world": world.as_json(), "label": label})
    done = subprocess.run(
        [sys.executable, "-m", "bench.state.engine_run", spec],
        cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True, timeout=3600,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def engine_part(worlds: dict[str, World], runs: int) -> dict[str, Any]:
    """`runs` runs of each world, alternating; per world its runs and their medians."""
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in worlds}
    names = list(worlds)
    for index in range(runs):
        order = names if index % 2 == 0 else names[::-1]
        for name in order:
            say(f"engine run {index + 1}/{runs}: {name} ({worlds[name].events:,} events)")
            results[name].append(one_run(worlds[name], f"{name} r{index + 1}"))
    return {name: summarize(runs_of) for name, runs_of in results.items()}


def _med(values: list[Any]) -> Any:
    value = median([v for v in values if v is not None])
    return round(value) if isinstance(value, float) and value > 100 else value


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over runs: per segment (its figures and its checkpoint's), at the end,
    of the full write and of the fixed-change checkpoint."""
    segments = []
    for index, first in enumerate(runs[0]["segments"]):
        at = [run["segments"][index] for run in runs]
        row: dict[str, Any] = {"percent": first["percent"]}
        row |= {key: _med([s[key] for s in at]) for key in SEGMENT_KEYS}
        row |= {f"checkpoint_{k}": _med([s["checkpoint"][k] for s in at]) for k in CHECKPOINT_KEYS}
        row["checkpoint_user_records"] = _med([s["checkpoint"]["by_kind"].get("u", 0) for s in at])
        segments.append(row)
    end = {key: _med([run["end"][key] for run in runs]) for key in END_KEYS}
    full = [run["end"]["full_write"] for run in runs]
    end |= {f"full_write_{k}": _med([f[k] for f in full]) for k in CHECKPOINT_KEYS}
    fixed = [run["end"]["fixed_change"] for run in runs]
    end |= {f"fixed_change_{k}": _med([f[k] for f in fixed]) for k in (*CHECKPOINT_KEYS, "events")}
    end["restore_equal"] = all(run["end"]["restore_equal"] for run in runs)
    end["dead_letters"] = max(run["end"]["dead_letters"] for run in runs)
    end["duplicates"] = max(run["end"]["duplicates"] for run in runs)
    return {"world": runs[0]["world"], "median_segments": segments, "median_end": end, "runs": runs}
