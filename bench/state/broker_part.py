"""Part 2: one worker on the real broker, large and small world alternately.

Why it exists: each world gets its own input and output topics
(`gsbench-<tag>-<world>-...`, created by `ensure_topics`), produced once, in full,
before any worker starts, so the worker's pace is its own and not the producer's
(about 15k lines/s); each run then starts a worker with a fresh app id on them
(`bench.state.worker_run`). The runs of a world are summarized as medians.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from bench.state.worker_run import LATENCY_KEYS, Target, worker_run
from bench.state.world import World, replay_lines
from bench.worker.inputs import produce
from bench.worker.processes import Children
from bench.worker.progress import say
from bench.worker.stats import median

PARTITIONS = 4
BROKER_WAIT_S = 180.0
SEGMENT_KEYS = (
    "events_per_s", "rss_bytes", "checkpoints", "records_per_checkpoint",
    "bytes_per_checkpoint", "seconds_per_checkpoint",
)  # fmt: skip
WHOLE_KEYS = (
    "events_per_s_whole", "events_per_s_from_first", "first_applied_after_s",
    "applied_all_after_s", "redis_all_after_s", "cpu_seconds", "rss_end_bytes",
    "rss_per_user_bytes", "rss_settled_bytes", "last_over_first", "all_checkpoints",
    "settled_checkpoints", "settled_records_per_checkpoint", "settled_bytes_per_checkpoint",
    "settled_seconds_per_checkpoint", "committed_all_after_s",
    "first_checkpoint_after_s", "checkpoints_not_acknowledged", "longest_checkpoint_timer_s",
)  # fmt: skip
RECOVERY_KEYS = (
    "health_200_after_s", "new_events_counted_after_s", "applied_after_restart",
    "rss_after_recovery_bytes", *LATENCY_KEYS,
)  # fmt: skip


def _create_topics(settings: Any) -> list[str]:
    """`ensure_topics(settings)`, retried while no broker answers (other work shares this
    broker and may restart it), for up to BROKER_WAIT_S."""
    from kafka.errors import KafkaError

    from agents.kafka.topics import ensure_topics

    deadline = time.monotonic() + BROKER_WAIT_S
    while True:
        try:
            return ensure_topics(settings)
        except KafkaError as exc:
            if time.monotonic() > deadline:
                raise
            say(f"broker not answering ({type(exc).__name__}); retrying")
            time.sleep(5)


def prepare(
    services: dict[str, str], tag: str, worlds: dict[str, World], workdir: Path
) -> dict[str, Target]:
    """Create each world's topics and produce the world onto them."""
    targets: dict[str, Target] = {}
    for name, world in worlds.items():
        target = Target(name, world, f"gsbench-{tag}-{name}", PARTITIONS)
        settings = target.settings(services, "producer", workdir)
        created = _create_topics(settings)
        say(f"broker {name}: created {len(created)} topics {target.base}-*")
        lines = replay_lines(world.messages(), target.topics)
        produce(lines, settings, world.events, f"produce {name}")
        target.produced = world.events
        targets[name] = target
    return targets


def broker_part(
    args: argparse.Namespace, children: Children, services: dict[str, str], tag: str,
    worlds: dict[str, World], workdir: Path,
) -> dict[str, Any]:  # fmt: skip
    targets = prepare(services, tag, worlds, workdir)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in worlds}
    names = list(worlds)
    for index in range(args.worker_runs):
        order = names if index % 2 == 0 else names[::-1]
        for name in order:
            target = targets[name]
            say(f"worker run {index + 1}/{args.worker_runs}: {name} ({target.produced:,} events)")
            run = f"r{index + 1}"
            runs[name].append(
                worker_run(
                    children,
                    services,
                    target,
                    run,
                    workdir,
                    args.sample_seconds,
                    args.latency_seconds if target.name == "large" else 0.0,
                    args.census_seconds,
                )
            )
    return {name: summarize(results) for name, results in runs.items()}


def _med(values: list[Any]) -> Any:
    value = median([v for v in values if v is not None])
    return round(value) if isinstance(value, float) and value > 100 else value


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    complete = [r for r in runs if r.get("complete")]
    use = complete or runs
    longest = max(len(r.get("segments", [])) for r in use)
    segments = []
    for index in range(longest):
        at = [r["segments"][index] for r in use if len(r.get("segments", [])) > index]
        row: dict[str, Any] = {"percent": at[0]["percent"]}
        row |= {key: _med([s.get(key) for s in at]) for key in SEGMENT_KEYS}
        segments.append(row)
    whole = {key: _med([r.get(key) for r in use]) for key in WHOLE_KEYS}
    recovery = {
        key: _med([r["recovery"].get(key) for r in use if "recovery" in r]) for key in RECOVERY_KEYS
    }
    first = runs[0]
    return {
        "events": first["events"], "users": first["users"], "runs_complete": len(complete),
        "median_segments": segments, "median_whole": whole, "median_recovery": recovery,
        "runs": runs,
    }  # fmt: skip
