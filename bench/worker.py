"""Worker benchmark: the Faust worker against a bare aiokafka consumer, and end-to-end latency.

    .venv/bin/python bench/worker.py [--events 1000000] [--partitions 8] [--runs 3]
                                           [--rate 5000] [--latency-seconds 30]

Needs the real services (`bash scripts/services up`; this script runs it, it is idempotent).
Every invocation uses its own topics (`gsbench-<tag>-...`), app ids and Redis prefix, and
deletes them at the end (`--keep` keeps them), so runs never see each other's data.

1. Throughput. N synthetic events (one big world, traps on, cut at N lines) are produced
   once onto the five input topics (P partitions) through `agents.kafka_io.produce_lines`
   (strictly increasing message timestamps). Then, alternately in each run (the order
   flips from run to run, so neither side always gets the warmer machine):

   - bare: one process with one aiokafka consumer (fresh group id, earliest) on the five
     topics, decoding nothing, until it has read N messages: the ceiling;
   - worker: one `python -m agents.cli worker` process (fresh GROWTH_APP_ID and Redis
     prefix, so it starts from offset 0 with empty state), until the Redis hash
     `{prefix}metrics` shows events + duplicates + dead_letters == N (polled every 0.5 s).

   Both are timed from process start (interpreter start, imports, group join included):
   `whole` = N / that time. "From first output" separates start-up: for the bare consumer
   it counts from its first message; for the worker from the first poll that saw a
   non-zero count c1, as (N - c1) / (t_done - t_first) (the worker publishes its figures
   every GROWTH_CHANGE_INTERVAL_MS = 1000 ms by default; the 0.5 s polling adds up to
   0.5 s). Because the worker's aggregator can lag its engines, the worker's own pace is
   also taken from its `<app>-partials` topic ("engine": message timestamps from the first
   partial that counts anything to the partials adding up to N). CPU seconds of each
   process come from /proc (worker, all threads) and getrusage (bare).

   The worker's internal topics (`<app>-partials`, `-clock`, `-checkpoints-changelog`,
   `-__assignor-__leader`) are created before it starts (`--no-precreate` does not): a
   fresh worker that creates them itself can miss `-partials` in its first metadata
   ("Ignoring missing topic") and then aggregate nothing for minutes.

2. Latency (GROWTH_CHANGE_INTERVAL_MS=200), --latency-runs times (3), each on fresh topics
   with a fresh app id: a worker is started and, once it has written its (empty) metrics
   hash, --rate events/s are produced for --latency-seconds through produce_lines with a
   pacing generator, the wall time at which each line is handed to the producer being
   recorded. Reported for all events and for those produced after
   --latency-warmup-seconds (5), as the median over runs of each run's p50 and p99.
   Measured:

   - change latency: each metric-changes record carries cause_event_id (the last event the
     partition with the newest stream time had applied when it published its partial) and
     emitted_at. A consumer thread records the wall time each record is received.
     latency = receive time - produce time of cause_event_id (also emitted_at - produce
     time). Records emitted together (same emitted_at) count once. The cause is the
     NEWEST event behind the emission, so this is the freshness of the change feed, not
     how long the oldest event of the interval waited (the Redis figure below covers that).
   - Redis latency: a thread reads the metrics hash every 20 ms. Event number k (in
     production order) counts as visible at the first read whose
     events + duplicates + dead_letters >= k; latency = that time - its produce time,
     over every produced event. Partitions run independently, so this assumes their
     events become visible in production order (close to true at a steady rate).

3. A markdown table on stdout and bench/out/worker.json. Progress lines go to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from bisect import bisect_left
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

FX_RATES = '{"USD":1,"EUR":1.08,"GBP":1.27}'
DEFAULT_TOPICS = ("signups", "payments", "cancellations", "activity", "surveys")
OUTPUT_TOPICS = ("metric_changes", "churn_alerts", "dead_letters")
LINES_PER_ACCOUNT = 314_897 / 4000  # a 180-day world (bench/out/replay.json)
COUNT_FIELDS = ("events", "duplicates", "dead_letters")

THROUGHPUT_POLL_S = 0.5
LATENCY_POLL_S = 0.02
LATENCY_CHANGE_INTERVAL_MS = 200
WORKER_UP_TIMEOUT_S = 120.0
BARE_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 15.0
CATCH_UP_TIMEOUT_S = 60.0

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


# ---------------------------------------------------------------- small helpers


def say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def nearest_rank(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of the sorted, non-empty `ordered`."""
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def rnd(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def parse_iso(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Children:
    """Child processes of this benchmark, each in its own process group; stopped on exit."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, cmd: list[str], *, env: dict[str, str], cwd: str, log: Path) -> Any:
        handle = open(log, "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        proc.log_handle = handle  # type: ignore[attr-defined]
        proc.log_path = log  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def stop(self, proc: Any, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM the child's process group, SIGKILL it if it is still there after `timeout`."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                say(f"pid {proc.pid} ignored SIGTERM for {timeout:.0f}s: SIGKILL")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        with contextlib.suppress(ProcessLookupError):  # stragglers of the group, if any
            os.killpg(proc.pid, signal.SIGKILL)
        proc.log_handle.close()
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in list(self.procs):
            self.stop(proc)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a live process (all its threads), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# ---------------------------------------------------------------- environment


def services_env(skip_up: bool) -> dict[str, str]:
    """GROWTH_KAFKA_BOOTSTRAP_SERVERS and GROWTH_REDIS_URL from scripts/services."""
    if not skip_up:
        say("scripts/services up (idempotent)")
        subprocess.run(["bash", str(ROOT / "scripts/services"), "up"], check=True, cwd=ROOT)
    out = subprocess.run(
        ["bash", str(ROOT / "scripts/services"), "env"],
        check=True, cwd=ROOT, capture_output=True, text=True,
    ).stdout  # fmt: skip
    env: dict[str, str] = {}
    for line in out.splitlines():
        line = line.strip().removeprefix("export ")
        if "=" in line:
            name, value = line.split("=", 1)
            env[name] = value.strip("'\"")
    return env


class Names:
    """The topics, app ids and Redis prefixes of one part of one benchmark invocation."""

    def __init__(self, tag: str, part: str, partitions: int) -> None:
        self.base = f"gsbench-{tag}-{part}"
        self.partitions = partitions
        self.topics = {name: f"{self.base}-{name}" for name in DEFAULT_TOPICS}
        self.outputs = {name: f"{self.base}-{name.replace('_', '-')}" for name in OUTPUT_TOPICS}

    def app_id(self, run: str) -> str:
        return f"{self.base}-{run}"

    def redis_prefix(self, run: str) -> str:
        return f"{self.base}:{run}:"

    def env(self, run: str) -> dict[str, str]:
        env = {f"GROWTH_TOPIC_{name.upper()}": topic for name, topic in self.topics.items()}
        env |= {f"GROWTH_TOPIC_{name.upper()}": topic for name, topic in self.outputs.items()}
        env |= {
            "GROWTH_APP_ID": self.app_id(run),
            "GROWTH_REDIS_PREFIX": self.redis_prefix(run),
            "GROWTH_TOPIC_PARTITIONS": str(self.partitions),
            "GROWTH_FX_RATES": FX_RATES,
        }
        return env

    def settings(self, services: dict[str, str], run: str = "producer") -> Any:
        from models.settings import Settings

        options: dict[str, Any] = {
            "app_id": self.app_id(run),
            "kafka_bootstrap_servers": services["GROWTH_KAFKA_BOOTSTRAP_SERVERS"],
            "topic_partitions": self.partitions,
            "fx_rates": FX_RATES,
        }
        options |= {f"topic_{name}": topic for name, topic in self.topics.items()}
        options |= {f"topic_{name}": topic for name, topic in self.outputs.items()}
        return Settings(**options)


# ---------------------------------------------------------------- synthetic input


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


def progress_printer(total: int, what: str) -> Any:
    step = max(total // 10, 1)
    mark = {"next": step}

    def progress(_bytes: int, lines: int) -> None:
        if lines >= mark["next"]:
            mark["next"] += step
            say(f"{what}: {lines:,}/{total:,} lines")

    return progress


def produce(lines: Iterator[bytes], settings: Any, total: int, what: str) -> Any:
    from agents.kafka.producer import produce_lines

    summary = produce_lines(lines, settings, progress=progress_printer(total, what))
    say(f"{what}: {summary.describe()}")
    if summary.errors or summary.skipped or summary.total != total:
        raise RuntimeError(f"{what}: produced {summary.total:,} of {total:,}: {summary.describe()}")
    return summary


# ---------------------------------------------------------------- Redis


def redis_client(services: dict[str, str]) -> Any:
    import redis

    return redis.Redis.from_url(services["GROWTH_REDIS_URL"], socket_timeout=5)


def metrics_count(client: Any, prefix: str) -> tuple[bool, int]:
    """(hash exists, events + duplicates + dead_letters) of `{prefix}metrics`."""
    values = client.hmget(f"{prefix}metrics", list(COUNT_FIELDS))
    if all(v is None for v in values):
        return False, 0
    return True, sum(int(v) for v in values if v not in (None, b""))


def partial_counts(value: dict[str, Any]) -> int:
    return sum(int(value.get(field) or 0) for field in COUNT_FIELDS)


def read_partials(
    services: dict[str, str], names: Names, run: str
) -> tuple[list[tuple[int, int, dict[str, Any]]], dict[str, int]]:
    """The worker's `<app>-partials` topic, (message timestamp ms, partition, partial) in
    order, and the end offsets of the input topic-partitions ("topic:partition" -> end)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=services["GROWTH_KAFKA_BOOTSTRAP_SERVERS"].split(","),
        group_id=None, enable_auto_commit=False, auto_offset_reset="earliest",
    )  # fmt: skip
    rows: list[tuple[int, int, dict[str, Any]]] = []
    try:
        tps = [TopicPartition(t, p) for t in names.topics.values() for p in range(names.partitions)]
        ends = {f"{tp.topic}:{tp.partition}": end for tp, end in consumer.end_offsets(tps).items()}
        partials = TopicPartition(f"{names.app_id(run)}-partials", 0)
        end = consumer.end_offsets([partials])[partials]
        consumer.assign([partials])
        consumer.seek_to_beginning(partials)
        deadline = time.time() + 20
        while consumer.position(partials) < end and time.time() < deadline:
            for messages in consumer.poll(timeout_ms=500).values():
                for message in messages:
                    if message.key is not None and message.value is not None:
                        value = orjson.loads(message.value)
                        rows.append((message.timestamp, int(message.key), value))
    finally:
        consumer.close()
    return rows, ends


def processing_span(rows: list[tuple[int, int, dict[str, Any]]], n: int) -> dict[str, Any]:
    """The engines' own pace, from the partials they published (their message timestamps):
    from the first partial that counts anything to the first moment the partials' latest
    values add up to n; (n - counted at the first) / that span."""
    latest: dict[int, int] = {}
    first: tuple[int, int] | None = None
    for timestamp, partition, value in rows:
        latest[partition] = partial_counts(value)
        total = sum(latest.values())
        if first is None and total > 0:
            first = (timestamp, total)
        if total >= n and first is not None and timestamp > first[0]:
            span = (timestamp - first[0]) / 1000
            return {
                "engine_seconds": rnd(span),
                "engine_events_per_s": round((n - first[1]) / span),
                "first_partial_unix": first[0] / 1000,
            }
    return {}


def diagnose(services: dict[str, str], names: Names, run: str) -> dict[str, Any]:
    """Where a worker that stopped short is short: per partition, the input messages
    (end offsets of the five topics) against what its last published partial counts."""
    rows, ends = read_partials(services, names, run)
    latest = {partition: value for _t, partition, value in rows}
    short = []
    for partition in range(names.partitions):
        inputs = {kind: ends[f"{topic}:{partition}"] for kind, topic in names.topics.items()}
        partial = latest.get(partition, {})
        counted = partial_counts(partial)
        if counted != sum(inputs.values()):
            short.append({
                "partition": partition, "input_messages": sum(inputs.values()),
                "counted": counted, "per_topic_end_offsets": inputs,
                "stream_time": partial.get("stream_time"),
            })  # fmt: skip
    return {"partitions_short": short}


def precreate_internal(services: dict[str, str], names: Names, run: str) -> None:
    """Create the worker's internal topics before it starts, as Faust would create them.

    Works around a start-up race of a fresh app id: the worker creates these topics and
    subscribes at once, aiokafka may not have them in its metadata yet ("Ignoring missing
    topic"), and then does not fetch them until its next metadata refresh (up to
    metadata_max_age_ms = 5 min): no partials are aggregated, so no Redis metrics and no
    metric changes. `--no-precreate` measures the worker exactly as it starts on its own.
    """
    from agents.kafka.topics import ensure_topics

    app = names.app_id(run)
    compact = {"cleanup.policy": "compact"}
    extra: dict[str, dict[str, Any]] = {
        f"{app}-partials": {"partitions": 1, "configs": compact},
        f"{app}-clock": {"partitions": names.partitions},
        f"{app}-checkpoints-changelog": {"partitions": names.partitions, "configs": compact},
        f"{app}-__assignor-__leader": {"partitions": 1},
    }
    ensure_topics(names.settings(services, run), extra=extra)


# ---------------------------------------------------------------- throughput


def worker_cmd(port: int) -> list[str]:
    return [sys.executable, "-m", "agents.cli", "worker", "-l", "info", "--web-port", str(port)]


def child_env(services: dict[str, str], extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROWTH_")}
    env |= services | extra
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    return env


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
) -> dict[str, Any]:
    client = redis_client(services)
    prefix = names.redis_prefix(run)
    log = workdir / f"worker-{run}.log"
    env = child_env(services, names.env(run))
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
        else:
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
    bare_runs: list[dict[str, Any]] = []
    worker_runs: list[dict[str, Any]] = []
    for index in range(args.runs):
        order = ("bare", "worker") if index % 2 == 0 else ("worker", "bare")
        for side in order:
            run = f"r{index + 1}"
            if side == "bare":
                result = run_bare(children, services, names, run, args.events, workdir)
                bare_runs.append(result)
            else:
                result = run_worker_throughput(
                    children, services, names, run, args.events, workdir, timeout, args.precreate
                )
                worker_runs.append(result)
            say(f"run {index + 1}/{args.runs} {side}: {json.dumps(result)}")
    return {"names": names, "bare": bare_runs, "worker": worker_runs}


def summarize_throughput(part: dict[str, Any]) -> dict[str, Any]:
    def med(runs: list[dict[str, Any]], key: str) -> float | None:
        return median([r[key] for r in runs if r.get(key) is not None])

    summary: dict[str, Any] = {}
    keys = [
        *("seconds", "events_per_s", "steady_events_per_s", "engine_events_per_s"),
        *("cpu_seconds", "cpu_utilization", "events_per_cpu_s"),
    ]
    for side in ("bare", "worker"):
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
    return summary


# ---------------------------------------------------------------- latency


class ChangeListener(threading.Thread):
    """Reads the metric-changes topic from the beginning, noting when each record arrived."""

    def __init__(self, services: dict[str, str], topic: str, partitions: int) -> None:
        super().__init__(daemon=True, name="changes")
        from kafka import KafkaConsumer, TopicPartition

        self.consumer = KafkaConsumer(
            bootstrap_servers=services["GROWTH_KAFKA_BOOTSTRAP_SERVERS"].split(","),
            group_id=None, auto_offset_reset="earliest", enable_auto_commit=False,
            fetch_max_wait_ms=10,
        )  # fmt: skip
        self.consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
        self.records: list[tuple[float, dict[str, Any]]] = []
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                for messages in self.consumer.poll(timeout_ms=50).values():
                    received = time.time()
                    for message in messages:
                        self.records.append((received, orjson.loads(message.value)))
        except BaseException as exc:
            self.error = exc
        finally:
            self.consumer.close()


class RedisPoller(threading.Thread):
    """Reads the metrics hash every LATENCY_POLL_S; keeps (time, count) when the count moves."""

    def __init__(self, services: dict[str, str], prefix: str) -> None:
        super().__init__(daemon=True, name="redis-poller")
        self.client = redis_client(services)
        self.prefix = prefix
        self.samples: list[tuple[float, int]] = []
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    @property
    def count(self) -> int:
        return self.samples[-1][1] if self.samples else 0

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                _exists, count = metrics_count(self.client, self.prefix)
                now = time.time()
                if not self.samples or count != self.samples[-1][1]:
                    self.samples.append((now, count))
                time.sleep(LATENCY_POLL_S)
        except BaseException as exc:
            self.error = exc
        finally:
            self.client.close()


def wait_worker_up(proc: Any, client: Any, prefix: str, log: Path) -> float:
    """Seconds until the worker wrote its (empty) metrics hash: assigned, aggregating."""
    started = time.time()
    while time.time() - started < WORKER_UP_TIMEOUT_S:
        if proc.poll() is not None:
            raise RuntimeError(f"worker exited ({proc.returncode})\n{log_tail(log)}")
        if metrics_count(client, prefix)[0]:
            return time.time() - started
        time.sleep(0.1)
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
    proc = children.start(worker_cmd(free_port()), env=env, cwd=str(workdir), log=log)
    try:
        up = wait_worker_up(proc, client, prefix, log)
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


# ---------------------------------------------------------------- report


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and value < 10:
        return f"{value:.2f}{unit}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}{unit}"
    return f"{int(value):,}{unit}"


def report(result: dict[str, Any]) -> str:
    out: list[str] = []
    tp = result.get("throughput")
    if tp:
        cfg = result["config"]
        out.append(
            f"### Throughput ({cfg['events']:,} events, {cfg['partitions']} partitions, "
            f"{cfg['runs']} runs, medians)\n"
        )
        out.append(
            "| side | whole process s | events/s whole (process start to N) | "
            "events/s from first output | events/s engine (partials) | CPU s | events/CPU-s |"
        )
        out.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for side, label in (("bare", "bare aiokafka consumer"), ("worker", "growthstream worker")):
            s = tp[side]
            out.append(
                f"| {label} | {fmt(s['median_seconds'])} | {fmt(s['median_events_per_s'])} | "
                f"{fmt(s['median_steady_events_per_s'])} | "
                f"{fmt(s['median_engine_events_per_s'])} | {fmt(s['median_cpu_seconds'])} | "
                f"{fmt(s['median_events_per_cpu_s'])} |"
            )
        out.append(
            f"| worker / bare | | {fmt(tp.get('ratio'))}x | {fmt(tp.get('steady_ratio'))}x | "
            f"{fmt(tp.get('engine_ratio'))}x (vs bare from first message) | | "
            f"{fmt(tp.get('cpu_ratio'))}x |"
        )
        out.append("")
        out.append(
            "First output: bare = its first message; worker = first poll of Redis with a "
            "non-zero count. Engine = the worker's own partial-state messages (first partial "
            "that counts anything to the partials adding up to N)."
        )
        out.append("Targets: >= 40,000 events/s per worker process, >= 0.5x the bare consumer.\n")
    lat = result.get("latency")
    if lat:
        out.append(
            f"### Latency ({lat['events_per_run']:,} events at {lat['rate']:,}/s for "
            f"{lat['seconds']:g} s, {len(lat['runs'])} runs, "
            f"GROWTH_CHANGE_INTERVAL_MS={lat['change_interval_ms']})\n"
        )
        out.append(
            "| measured | events produced | samples | median p50 ms | median p99 ms | "
            "p99 ms per run | max ms |"
        )
        out.append("| --- | --- | ---: | ---: | ---: | --- | ---: |")
        for key, label in (
            ("change_receive", "metric-changes received - cause event produced"),
            ("change_emitted_at", "metric-changes emitted_at - cause event produced"),
            ("redis_metrics", "Redis metrics count reaches event - event produced"),
        ):
            for span, when in (
                ("all", "all"),
                ("after_warmup", f"after {lat['warmup_seconds']:g} s"),
            ):
                d = lat["medians"][key][span]
                per_run = ", ".join(fmt(v) for v in d["p99_ms_per_run"])
                out.append(
                    f"| {label} | {when} | {d['samples']:,} | {fmt(d['median_p50_ms'])} | "
                    f"{fmt(d['median_p99_ms'])} | {per_run} | {fmt(d['max_ms'])} |"
                )
        out.append("")
        out.append(
            f"Achieved produce rate (median) {fmt(lat['median_achieved_rate'])}/s; worker caught "
            f"up in every run: {lat['all_caught_up']}; target p99 <= 1000 ms.\n"
        )
    return "\n".join(out)


# ---------------------------------------------------------------- cleanup


def cleanup(services: dict[str, str], tag: str) -> None:
    """Delete this invocation's topics (inputs, outputs, Faust internals) and Redis keys."""
    base = f"gsbench-{tag}-"
    keys: list[Any] = []
    try:
        client = redis_client(services)
        keys = list(client.scan_iter(match=f"{base}*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
        client.close()
    except Exception as exc:
        say(f"cleanup: Redis keys not deleted: {exc!r}")
    try:
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(
            bootstrap_servers=services["GROWTH_KAFKA_BOOTSTRAP_SERVERS"].split(",")
        )
        try:
            topics = [t for t in admin.list_topics() if t.startswith(base)]
            if topics:
                admin.delete_topics(topics)
            say(f"cleanup: deleted {len(topics)} topics and {len(keys)} Redis keys")
        finally:
            admin.close()
    except Exception as exc:
        say(f"cleanup: topics not deleted: {exc!r}")


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="throughput events (1M)")
    parser.add_argument("--partitions", type=int, default=8, help="input topic partitions (8)")
    parser.add_argument("--runs", type=int, default=3, help="runs per side (3)")
    parser.add_argument("--rate", type=int, default=5000, help="latency produce rate/s (5000)")
    parser.add_argument("--latency-seconds", type=float, default=30, help="latency duration (30)")
    parser.add_argument("--latency-runs", type=int, default=3, help="latency runs (3)")
    parser.add_argument(
        "--latency-warmup-seconds",
        type=float,
        default=5,
        help="also report latency of events produced after this (5)",
    )
    parser.add_argument("--seed", type=int, default=11, help="synthetic world seed (11)")
    parser.add_argument(
        "--worker-timeout",
        type=float,
        default=0.0,
        help="seconds per worker throughput run (default 90 + events/2000)",
    )
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument(
        "--no-services-up",
        action="store_true",
        help="do not run `scripts/services up` (services already running)",
    )
    parser.add_argument(
        "--no-precreate",
        dest="precreate",
        action="store_false",
        help="let the worker create its internal topics (exposes a start-up race, see README)",
    )
    parser.add_argument("--keep", action="store_true", help="keep topics and Redis keys")
    parser.add_argument("--out", default=str(ROOT / "bench/out/worker.json"))
    args = parser.parse_args(argv)

    tag = f"{time.strftime('%m%d%H%M%S')}-{os.getpid()}"
    services = services_env(args.no_services_up)
    workdir = Path(tempfile.mkdtemp(prefix=f"gsbench-{tag}-"))
    say(f"tag {tag}; logs and Faust data dirs in {workdir}")
    children = Children()
    result: dict[str, Any] = {
        "config": {
            "events": args.events, "partitions": args.partitions, "runs": args.runs,
            "rate": args.rate, "latency_seconds": args.latency_seconds, "seed": args.seed,
            "latency_warmup_seconds": args.latency_warmup_seconds,
            "latency_runs": args.latency_runs,
            "precreate_internal_topics": args.precreate,
            "latency_change_interval_ms": LATENCY_CHANGE_INTERVAL_MS,
            "throughput_poll_s": THROUGHPUT_POLL_S, "latency_poll_s": LATENCY_POLL_S,
        },
        "machine": {
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "loadavg_at_start": os.getloadavg(),
        },
    }  # fmt: skip

    def on_signal(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)
    started = time.time()
    try:
        if not args.skip_throughput:
            part = throughput(args, children, services, tag, workdir)
            result["throughput"] = summarize_throughput(part)
        if not args.skip_latency:
            result["latency"] = latency(args, children, services, tag, workdir)
    finally:
        children.stop_all()
        if not args.keep:
            cleanup(services, tag)
    result["machine"]["loadavg_at_end"] = os.getloadavg()
    result["total_seconds"] = round(time.time() - started, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(report(result))
    say(f"wrote {out} ({result['total_seconds']}s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
