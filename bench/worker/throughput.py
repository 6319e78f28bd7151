"""Part 1, throughput: a bare aiokafka consumer against the worker on the same N events.

Why it exists: the bare consumer, reading and decoding nothing, is the ceiling;
the worker's figures (whole process, from first output, engine pace, CPU) are
set against it, run by run with the order alternating, and summarized as medians.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.worker.inputs import produce, world_lines
from bench.worker.names import Names
from bench.worker.processes import Children, child_env, cpu_seconds, free_port, log_tail, worker_cmd
from bench.worker.progress import say
from bench.worker.services import metrics_count, redis_client
from bench.worker.stats import median, rnd
from bench.worker.worker_topics import diagnose, precreate_internal, processing_span, read_partials

THROUGHPUT_POLL_S = 0.5
BARE_TIMEOUT_S = 300.0


BARE_CONSUMER = r"""
import asyncio, json, resource, sys, time
started = time.time()
from aiokafka import AIOKafkaConsumer

async def main():
    bootstrap, group, n, topics = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split(",")
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, group_id=group,
        auto_offset_reset="earliest", enable_auto_commit=False,
    )
    await consumer.start()
    count, first = 0, None
    try:
        while count < n:
            batches = await consumer.getmany(timeout_ms=500)
            for messages in batches.values():
                if messages and first is None:
                    first = time.time()
                count += len(messages)
        done = time.time()
    finally:
        await consumer.stop()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    result = {"started": started, "first": first, "done": done, "count": count, "cpu": cpu}
    print(json.dumps(result))

asyncio.run(main())
"""


def run_bare(
    children: Children, services: dict[str, str], names: Names, run: str, n: int, workdir: Path
) -> dict[str, Any]:
    group = f"{names.base}-bare-{run}"
    cmd = [
        sys.executable, "-c", BARE_CONSUMER, services["GROWTH_KAFKA_BOOTSTRAP_SERVERS"],
        group, str(n), ",".join(names.topics.values()),
    ]  # fmt: skip
    log = workdir / f"bare-{run}.log"
    started = time.time()
    proc = children.start(cmd, env=child_env(services, {}), cwd=str(workdir), log=log)
    try:
        proc.wait(BARE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        children.stop(proc)
        tail = log_tail(log)
        raise RuntimeError(f"bare consumer: not done after {BARE_TIMEOUT_S:.0f}s\n{tail}") from None
    children.stop(proc)
    if proc.returncode != 0:
        raise RuntimeError(f"bare consumer failed (exit {proc.returncode})\n{log_tail(log)}")
    result = json.loads(log.read_text().strip().splitlines()[-1])
    whole = result["done"] - started
    steady = result["done"] - result["first"]
    return {
        "seconds": rnd(whole), "events_per_s": round(n / whole),
        "steady_seconds": rnd(steady), "steady_events_per_s": round(n / steady),
        "startup_seconds": rnd(result["first"] - started), "count": result["count"],
        "cpu_seconds": rnd(result["cpu"]), "cpu_utilization": rnd(result["cpu"] / whole),
    }  # fmt: skip


def run_worker_throughput(
    children: Children,
    services: dict[str, str],
    names: Names,
    run: str,
    n: int,
    workdir: Path,
    timeout: float,
    precreate: bool,
    tree: Path | None = None,
) -> dict[str, Any]:
    client = redis_client(services)
    prefix = names.redis_prefix(run)
    log = workdir / f"worker-{run}.log"
    env = child_env(services, names.env(run), tree)
    started = time.time()
    if precreate:
        precreate_internal(services, names, run)
    proc = children.start(worker_cmd(free_port()), env=env, cwd=str(workdir), log=log)
    first: tuple[float, int] | None = None
    seen_hash: float | None = None
    count = 0
    cpu: float | None = None
    diagnosis: dict[str, Any] | None = None
    engine: dict[str, Any] = {}
    last_report = started
    try:
        while True:
            now = time.time()
            exists, count = metrics_count(client, prefix)
            if exists and seen_hash is None:
                seen_hash = now
            if count > 0 and first is None:
                first = (now, count)
            if count >= n:
                break
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited ({proc.returncode})\n{log_tail(log)}")
            if now - started > timeout:
                break
            cpu = cpu_seconds(proc.pid)
            if now - last_report >= 10:
                last_report = now
                say(f"  worker {run}: {count:,}/{n:,} after {now - started:.0f}s")
            time.sleep(THROUGHPUT_POLL_S)
        cpu = cpu_seconds(proc.pid) or cpu
        if count < n:
            diagnosis = diagnose(services, names, run)
        elif tree is None:
            engine = processing_span(read_partials(services, names, run)[0], n)
    finally:
        children.stop(proc)
        client.close()
    done = time.time() if count < n else now
    whole = done - started
    result: dict[str, Any] = {
        "count": count, "complete": count >= n, "seconds": rnd(whole),
        "events_per_s": round(count / whole),
        "metrics_hash_after_s": rnd(None if seen_hash is None else seen_hash - started),
        "cpu_seconds": rnd(cpu), "cpu_utilization": rnd(None if cpu is None else cpu / whole),
    }  # fmt: skip
    if engine:
        first_partial = engine.pop("first_partial_unix")
        result |= engine
        result["first_partial_after_s"] = rnd(first_partial - started)
    if diagnosis is not None:
        result["diagnosis"] = diagnosis
        say(f"  worker {run}: short partitions {json.dumps(diagnosis)}")
    if count != n:
        say(f"  worker {run}: count {count:,} != {n:,} (timeout {timeout:.0f}s or overshoot)")
    if first is not None and done > first[0]:
        steady = done - first[0]
        result |= {
            "first_count": first[1], "first_count_after_s": rnd(first[0] - started),
            "steady_seconds": rnd(steady),
            "steady_events_per_s": round((count - first[1]) / steady),
        }  # fmt: skip
    return result


def throughput(
    args: argparse.Namespace, children: Children, services: dict[str, str], tag: str, workdir: Path
) -> dict[str, Any]:
    from agents.kafka.topics import ensure_topics

    names = Names(tag, "tp", args.partitions)
    settings = names.settings(services)
    created = ensure_topics(settings)
    say(f"throughput: created {len(created)} topics {names.base}-* ({args.partitions} partitions)")
    lines = world_lines(args.events, args.seed, names.topics)
    produce((line for line, _ in lines), settings, args.events, "pre-produce")
    del lines
    timeout = args.worker_timeout or 90 + args.events / 2000
    vs_tree = Path(args.vs_tree).resolve() if args.vs_tree else None
    runs: dict[str, list[dict[str, Any]]] = {"bare": [], "worker": []}
    sides = ["bare", "worker"]
    if vs_tree is not None:
        runs["vs"] = []
        sides.append("vs")
    for index in range(args.runs):
        order = sides if index % 2 == 0 else sides[::-1]
        for side in order:
            run = f"r{index + 1}" if side != "vs" else f"v{index + 1}"
            if side == "bare":
                result = run_bare(children, services, names, run, args.events, workdir)
            else:
                result = run_worker_throughput(
                    children, services, names, run, args.events, workdir, timeout,
                    args.precreate, vs_tree if side == "vs" else None,
                )  # fmt: skip
            runs[side].append(result)
            say(f"run {index + 1}/{args.runs} {side}: {json.dumps(result)}")
    return {"names": names, "vs_tree": str(vs_tree) if vs_tree else None, **runs}


def summarize_throughput(part: dict[str, Any]) -> dict[str, Any]:
    def med(runs: list[dict[str, Any]], key: str) -> float | None:
        return median([r[key] for r in runs if r.get(key) is not None])

    summary: dict[str, Any] = {}
    keys = [
        *("seconds", "events_per_s", "steady_events_per_s", "engine_events_per_s"),
        *("cpu_seconds", "cpu_utilization", "events_per_cpu_s"),
    ]
    for side in ("bare", "worker", "vs"):
        if side not in part:
            continue
        runs = part[side]
        for run in runs:
            if run.get("cpu_seconds"):
                run["events_per_cpu_s"] = round(run["count"] / run["cpu_seconds"])
        summary[side] = {"runs": runs} | {f"median_{key}": med(runs, key) for key in keys}
    bare, worker = summary["bare"], summary["worker"]
    for worker_key, bare_key, out in (
        ("median_events_per_s", "median_events_per_s", "ratio"),
        ("median_steady_events_per_s", "median_steady_events_per_s", "steady_ratio"),
        ("median_engine_events_per_s", "median_steady_events_per_s", "engine_ratio"),
        ("median_events_per_cpu_s", "median_events_per_cpu_s", "cpu_ratio"),
    ):
        if bare[bare_key] and worker[worker_key] is not None:
            summary[out] = round(worker[worker_key] / bare[bare_key], 3)
    if "vs" in summary:
        summary["vs_tree"] = part["vs_tree"]
        summary["vs_ratios"] = _paired_ratios(part["worker"], part["vs"])
    return summary


def _paired_ratios(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> dict[str, Any]:
    """This checkout's worker against the `--vs-tree` one, run by run (each pair ran next to
    each other, so the machine's drift cancels): the median of the per-run ratios."""
    out: dict[str, Any] = {}
    for key in ("events_per_s", "steady_events_per_s", "cpu_seconds"):
        pairs = [
            a[key] / b[key] for a, b in zip(ours, theirs, strict=False) if a.get(key) and b.get(key)
        ]
        out[key] = {"per_run": [round(r, 3) for r in pairs], "median": rnd(median(pairs))}
    return out
