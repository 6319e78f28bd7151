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
from bisect import bisect_left
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.worker.inputs import produce, world_lines
from bench.worker.names import Names
from bench.worker.probes import ChangeListener, RedisPoller
from bench.worker.processes import Children, child_env, cpu_seconds, free_port, log_tail, worker_cmd
from bench.worker.progress import say
from bench.worker.services import redis_client
from bench.worker.stats import median, nearest_rank, rnd
from bench.worker.worker_topics import diagnose, precreate_internal

LATENCY_CHANGE_INTERVAL_MS = 200
WORKER_UP_TIMEOUT_S = 120.0
CATCH_UP_TIMEOUT_S = 60.0


def parse_iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


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

    precreate = args.precreate
    names = Names(tag, f"lat{index}", args.partitions)
    settings = names.settings(services)
    ensure_topics(settings)
    total = int(args.rate * args.latency_seconds)
    lines = world_lines(total, args.seed + index, names.topics)
    produced_at: list[float] = [0.0] * total
    by_event: dict[str, list[int]] = {}
    for position, (_line, event_id) in enumerate(lines):
        if event_id is not None:
            by_event.setdefault(event_id, []).append(position)

    run = "live"
    prefix = names.redis_prefix(run)
    env = child_env(
        services, names.env(run) | {"GROWTH_CHANGE_INTERVAL_MS": str(LATENCY_CHANGE_INTERVAL_MS)}
    )
    log = workdir / f"worker-latency{index}.log"
    cpu: float | None = None
    diagnosis: dict[str, Any] | None = None
    client = redis_client(services)
    listener = ChangeListener(services, names.outputs["metric_changes"], args.partitions)
    poller = RedisPoller(services, prefix)
    if precreate:
        precreate_internal(services, names, run)
    port = free_port()
    proc = children.start(worker_cmd(port), env=env, cwd=str(workdir), log=log)
    try:
        up = wait_worker_up(proc, port, log)
        say(
            f"latency {index}: worker up after {up:.1f}s; "
            f"producing {total:,} events at {args.rate:,}/s"
        )
        listener.start()
        poller.start()
        time.sleep(1.0)  # let the worker settle after its first writes

        def paced() -> Iterator[bytes]:
            started = time.time()
            for position, (line, _event_id) in enumerate(lines):
                delay = started + position / args.rate - time.time()
                if delay > 0:
                    time.sleep(delay)
                produced_at[position] = time.time()
                yield line

        produce_started = time.time()
        produce(paced(), settings, total, "latency produce")
        produce_seconds = time.time() - produce_started
        deadline = time.time() + CATCH_UP_TIMEOUT_S
        while poller.count < total and time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited ({proc.returncode})\n{log_tail(log)}")
            time.sleep(0.1)
        caught_up = poller.count >= total
        caught_up_after = time.time() - produce_started - produce_seconds
        state = "caught up" if caught_up else f"not caught up after {CATCH_UP_TIMEOUT_S:.0f}s"
        say(
            f"latency {index}: count {poller.count:,}/{total:,} ({state}, "
            f"{caught_up_after:.1f}s after the last send)"
        )
        time.sleep(3 * LATENCY_CHANGE_INTERVAL_MS / 1000)  # the last changes
        cpu = cpu_seconds(proc.pid)
        if not caught_up:
            diagnosis = diagnose(services, names, run)
            say(f"latency {index}: short partitions {json.dumps(diagnosis)}")
    finally:
        listener.stopping.set()
        poller.stopping.set()
        children.stop(proc)
        client.close()
    listener.join(10)
    poller.join(10)
    for thread in (listener, poller):
        if thread.error is not None:
            raise RuntimeError(f"{thread.name} thread failed: {thread.error!r}")

    # change feed: one sample per emission (records that share emitted_at and cause)
    emissions: dict[tuple[str, str], tuple[float, float]] = {}
    unmatched = 0
    for received, record in listener.records:
        key = (str(record.get("emitted_at")), str(record.get("cause_event_id")))
        if key not in emissions:
            emissions[key] = (received, parse_iso(key[0]))
    warm = produced_at[0] + args.latency_warmup_seconds
    recv_lat: list[tuple[float, float]] = []  # (produce time of the cause, latency)
    emit_lat: list[tuple[float, float]] = []
    for (_emitted, cause), (received, emitted) in emissions.items():
        indices = by_event.get(cause)
        if not indices:
            unmatched += 1
            continue
        # a duplicate trap carries its original's id: take the latest copy produced before
        times = [produced_at[i] for i in indices if 0 < produced_at[i] <= emitted]
        if not times:
            unmatched += 1
            continue
        recv_lat.append((max(times), received - max(times)))
        emit_lat.append((max(times), emitted - max(times)))

    # Redis: event k visible at the first sample whose count >= k
    sample_times = [t for t, _ in poller.samples]
    sample_counts = [c for _, c in poller.samples]
    redis_lat: list[tuple[float, float]] = []
    for k in range(total):
        pos = bisect_left(sample_counts, k + 1)
        if pos < len(sample_counts):
            redis_lat.append((produced_at[k], sample_times[pos] - produced_at[k]))

    raw = workdir / f"latency-raw{index}.json"
    raw.write_text(json.dumps({
        "produced_at": produced_at, "redis_samples": poller.samples,
        "changes": [(received, record.get("metric"), record.get("cause_event_id"),
                     record.get("emitted_at")) for received, record in listener.records],
    }))  # fmt: skip
    say(f"latency {index}: raw samples in {raw}")

    def dist(pairs: list[tuple[float, float]]) -> dict[str, Any]:
        return {
            "all": stats([v for _, v in pairs]),
            "after_warmup": stats([v for t, v in pairs if t >= warm]),
        }

    def stats(values: list[float]) -> dict[str, Any]:
        if not values:
            return {"samples": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
        ordered = sorted(values)
        return {
            "samples": len(values),
            "p50_ms": round(1000 * nearest_rank(ordered, 50), 1),
            "p99_ms": round(1000 * nearest_rank(ordered, 99), 1),
            "max_ms": round(1000 * ordered[-1], 1),
        }

    result = {
        "events": total,
        "produce_seconds": rnd(produce_seconds),
        "achieved_rate": round(total / produce_seconds),
        "worker_up_seconds": rnd(up),
        "worker_cpu_seconds": rnd(cpu),
        "caught_up": caught_up,
        "caught_up_after_last_send_s": rnd(caught_up_after),
        "final_count": poller.count,
        "change_records": len(listener.records),
        "emissions": len(emissions),
        "unmatched_causes": unmatched,
        "change_receive": dist(recv_lat),
        "change_emitted_at": dist(emit_lat),
        "redis_metrics": dist(redis_lat),
    }
    if diagnosis is not None:
        result["diagnosis"] = diagnosis
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
