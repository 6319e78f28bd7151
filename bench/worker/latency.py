"""Part 2, end-to-end latency: events produced at a steady rate into a live worker.

Why it exists: each run starts a worker on fresh topics, produces --rate
events/s for --latency-seconds, records when each line was handed to the
producer, and turns the probes' samples into change-feed and Redis latencies;
the runs are summarized as medians of their p50 and p99.
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.worker.inputs import world_lines
from bench.worker.names import Names
from bench.worker.paced import Paced, measure_paced
from bench.worker.processes import Children, child_env, cpu_seconds, free_port, log_tail, worker_cmd
from bench.worker.progress import say
from bench.worker.stats import median, rnd
from bench.worker.worker_topics import diagnose, precreate_internal

LATENCY_CHANGE_INTERVAL_MS = 200
WORKER_UP_TIMEOUT_S = 120.0


def wait_worker_up(proc: Any, port: int, log: Path) -> float:
    """Seconds until the worker's `/health` says it is ready with input partitions assigned
    (the metrics hash is written only once a partition has taken a message)."""
    started = time.time()
    while time.time() - started < WORKER_UP_TIMEOUT_S:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited ({proc.returncode})\n{log_tail(log)}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                health = json.loads(answer.read())
        except (OSError, ValueError):
            health = {}
        if health.get("ready") and health.get("partitions"):
            return time.time() - started
        time.sleep(0.2)
    raise RuntimeError(f"worker not up after {WORKER_UP_TIMEOUT_S:.0f}s\n{log_tail(log)}")


def latency_run(
    args: argparse.Namespace,
    children: Children,
    services: dict[str, str],
    tag: str,
    workdir: Path,
    index: int,
) -> dict[str, Any]:
    from agents.kafka.topics import ensure_topics

    names = Names(tag, f"lat{index}", args.partitions)
    settings = names.settings(services)
    ensure_topics(settings)
    total = int(args.rate * args.latency_seconds)
    lines = world_lines(total, args.seed + index, names.topics)
    run = "live"
    env = child_env(
        services, names.env(run) | {"GROWTH_CHANGE_INTERVAL_MS": str(LATENCY_CHANGE_INTERVAL_MS)}
    )
    log = workdir / f"worker-latency{index}.log"
    if args.precreate:
        precreate_internal(services, names, run)
    port = free_port()
    proc = children.start(worker_cmd(port), env=env, cwd=str(workdir), log=log)
    paced = Paced(
        services, settings, names.redis_prefix(run), args.partitions, args.rate,
        args.latency_warmup_seconds, LATENCY_CHANGE_INTERVAL_MS, label=f"latency {index}",
    )  # fmt: skip
    try:
        up = wait_worker_up(proc, port, log)
        say(f"latency {index}: worker up after {up:.1f}s; producing {total:,} at {args.rate:,}/s")
        result = measure_paced(paced, lines, proc, log, workdir / f"latency-raw{index}.json")
        result |= {"worker_up_seconds": rnd(up), "worker_cpu_seconds": rnd(cpu_seconds(proc.pid))}
        if not result["caught_up"]:
            result["diagnosis"] = diagnose(services, names, run)
            say(f"latency {index}: short partitions {json.dumps(result['diagnosis'])}")
    finally:
        children.stop(proc)
    return result


LATENCY_MEASURES = ("change_receive", "change_emitted_at", "redis_metrics")


def latency(
    args: argparse.Namespace, children: Children, services: dict[str, str], tag: str, workdir: Path
) -> dict[str, Any]:
    """--latency-runs runs, each on fresh topics with a fresh worker; medians over runs."""
    runs = []
    for index in range(1, args.latency_runs + 1):
        result = latency_run(args, children, services, tag, workdir, index)
        runs.append(result)
        brief = {
            key: {span: result[key][span]["p99_ms"] for span in ("all", "after_warmup")}
            for key in LATENCY_MEASURES
        }
        say(f"latency run {index}/{args.latency_runs}: p99 ms {json.dumps(brief)}")
    medians: dict[str, Any] = {}
    for key in LATENCY_MEASURES:
        medians[key] = {}
        for span in ("all", "after_warmup"):
            stats = [run[key][span] for run in runs]
            medians[key][span] = {
                "samples": sum(s["samples"] for s in stats),
                "median_p50_ms": median([s["p50_ms"] for s in stats if s["p50_ms"] is not None]),
                "median_p99_ms": median([s["p99_ms"] for s in stats if s["p99_ms"] is not None]),
                "p99_ms_per_run": [s["p99_ms"] for s in stats],
                "max_ms": max(
                    (s["max_ms"] for s in stats if s["max_ms"] is not None), default=None
                ),
            }
    return {
        "rate": args.rate,
        "seconds": args.latency_seconds,
        "events_per_run": int(args.rate * args.latency_seconds),
        "change_interval_ms": LATENCY_CHANGE_INTERVAL_MS,
        "warmup_seconds": args.latency_warmup_seconds,
        "runs": runs,
        "medians": medians,
        "all_caught_up": all(run["caught_up"] for run in runs),
        "median_achieved_rate": median([run["achieved_rate"] for run in runs]),
    }
