"""Part 2, one run: one worker through a produced world, then killed and restarted.

Why it exists: a fresh app id and Redis prefix make the worker start from offset 0
with empty state; it is sampled until its engines have applied every event and the
Redis count shows them all, left until its group has committed every input offset
(the worker commits only what a durable checkpoint covers, so nothing is unsaved),
then SIGKILLed and started again on the same web port and data dir (as a crashed
worker on the same machine would be): how long until `/health` answers 200, and
until 100 events produced just after the restart are counted in Redis. Waiting for
the checkpoint counter to stand still is not enough: a checkpoint can take longer
than its interval, and the next one, which covers the end, is not counted until it
is done.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.state.census import last_census
from bench.state.memory import MB, http_get, prometheus_counters, rss_bytes
from bench.state.samples import (
    Sample,
    as_rows,
    per_checkpoint,
    redis_counts,
    take_sample,
    whole_run,
)
from bench.state.world import KINDS, World, replay_lines
from bench.worker.paced import Paced, measure_paced
from bench.worker.processes import Children, child_env, cpu_seconds, free_port, log_tail, worker_cmd
from bench.worker.progress import say
from bench.worker.services import redis_client
from bench.worker.stats import rnd

NEW_EVENTS = 100
LATENCY_RATE = 5000
"""Events/s of the paced phase on the recovered state (issue 10's latency target)."""
LATENCY_CHANGE_INTERVAL_MS = 200
LATENCY_KEYS = (
    "latency_rate", "latency_change_p50_ms", "latency_change_p99_ms", "latency_redis_p50_ms",
    "latency_redis_p99_ms",
)  # fmt: skip
SETTLE_MAX_S = 300.0
OVERLAP = re.compile(r"Timer (\w+) is overlapping \(interval=[0-9.]+ runtime=([0-9.]+)\)")
RECOVERY_TIMEOUT_S = 180.0
RECOVERY_POLL_S = 0.1


@dataclass(slots=True)
class Target:
    """One world on its own topics: `produced` counts the valid events they hold."""

    name: str
    world: World
    base: str
    partitions: int
    produced: int = 0

    @property
    def topics(self) -> dict[str, str]:
        return {kind: f"{self.base}-{kind}" for kind in KINDS}

    def settings(self, services: dict[str, str], run: str, workdir: Path) -> Any:
        from models.settings import Settings

        options: dict[str, Any] = {
            "app_id": f"{self.base}-{run}", "redis_prefix": f"{self.base}:{run}:",
            "kafka_bootstrap_servers": services["GROWTH_KAFKA_BOOTSTRAP_SERVERS"],
            "redis_url": services["GROWTH_REDIS_URL"], "topic_partitions": self.partitions,
            "data_dir": str(workdir / "data"),
        }  # fmt: skip
        options |= {f"topic_{kind}": topic for kind, topic in self.topics.items()}
        for name in ("metric_changes", "churn_alerts", "dead_letters"):
            options[f"topic_{name}"] = f"{self.base}-{name.replace('_', '-')}"
        return Settings(**options)


def settings_env(settings: Any) -> dict[str, str]:
    """The GROWTH_* environment that makes a worker read exactly these settings (as
    tests/support/workers.py does)."""
    env: dict[str, str] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        if isinstance(value, dict):
            value = json.dumps({k: str(v) for k, v in value.items()})
        env[f"GROWTH_{name.upper()}"] = str(value)
    return env


def committed(admin: Any, settings: Any) -> int | None:
    """Input messages the worker's group has committed (the sum of its committed input
    offsets); None when the broker does not say."""
    try:
        offsets = admin.list_group_offsets({settings.app_id: None}).get(settings.app_id, {})
    except Exception:
        return None
    inputs = set(settings.input_topics())
    return int(sum(max(o.offset, 0) for tp, o in offsets.items() if tp.topic in inputs))


def _settle(samples: list[Sample], take: Any, settings: Any, n: int) -> float | None:
    """Sample until the group has committed all `n` input messages: the worker commits
    offsets only once a checkpoint covering them is durable, so nothing is left unsaved.
    The time (since the worker started) of the first sample after which it had; None if
    that did not come within SETTLE_MAX_S."""
    from agents.kafka.topics import admin_client

    began = samples[-1].t
    admin = admin_client(settings)
    try:
        while samples[-1].t - began < SETTLE_MAX_S:
            done = committed(admin, settings)
            if done is not None and done >= n:
                return samples[-1].t
            time.sleep(1.0)
            samples.append(take())
    finally:
        admin.close()
    return None


def log_findings(log: Path) -> dict[str, Any]:
    """What the worker log says about its checkpoints: how many were not acknowledged by
    the broker (those are not in the counters), and the longest overlapping timer runs."""
    text = log.read_text(errors="replace") if log.exists() else ""
    runtimes: dict[str, float] = {}
    for name, runtime in OVERLAP.findall(text):
        runtimes[name] = max(runtimes.get(name, 0.0), float(runtime))
    return {
        "checkpoints_not_acknowledged": text.count("checkpoint not acknowledged"),
        "producer_buffer_full_warnings": text.count("producer buffer full"),
        "longest_overlapping_timer_s": {k: rnd(v) for k, v in sorted(runtimes.items())},
    }


def _kill(children: Children, proc: Any) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    children.stop(proc)


def _command(port: int, env: dict[str, str]) -> list[str]:
    """The worker's command line; under `bench.state.census` when a census is asked for."""
    command = worker_cmd(port)
    if "BENCH_CENSUS_OUT" in env:
        return [command[0], "-m", "bench.state.census", *command[3:]]
    return command


def _recover(
    children: Children, target: Target, settings: Any, env: dict[str, str], port: int,
    log: Path, client: Any, count_before: int, run: str, latency_s: float,
) -> dict[str, Any]:  # fmt: skip
    """Restart after the SIGKILL, produce `NEW_EVENTS` at once, time health and their count;
    then, for `latency_s`, events at `LATENCY_RATE` into the recovered state, timed."""
    from agents.kafka.producer import produce_lines

    prefix, wanted = settings.redis_prefix, count_before + NEW_EVENTS
    started = time.time()
    if latency_s > 0:
        env = env | {"GROWTH_CHANGE_INTERVAL_MS": str(LATENCY_CHANGE_INTERVAL_MS)}
    if "BENCH_CENSUS_OUT" in env:
        env = env | {"BENCH_CENSUS_OUT": str(log.with_name(f"{log.stem}-census.jsonl"))}
    proc = children.start(_command(port, env), env=env, cwd=str(log.parent), log=log)
    produced: dict[str, Any] = {}

    def produce() -> None:
        lines = replay_lines(target.world.after_end(NEW_EVENTS, f"{target.base}-{run}-new"),
                             target.topics)  # fmt: skip
        summary = produce_lines(lines, settings)
        produced.update(total=summary.total, errors=summary.errors, at=time.time() - started)

    thread = threading.Thread(target=produce, name="new-events", daemon=True)
    thread.start()
    health: float | None = None
    counted: float | None = None
    try:
        while time.time() - started < RECOVERY_TIMEOUT_S and (health is None or counted is None):
            if proc.poll() is not None:
                raise RuntimeError(f"restarted worker exited ({proc.returncode})\n{log_tail(log)}")
            if health is None and http_get(port, "/health", timeout=1.0)[0] == 200:
                health = time.time() - started
            events = redis_counts(client, prefix)[0]
            if counted is None and events not in (None, b"") and int(events) >= wanted:
                counted = time.time() - started
            time.sleep(RECOVERY_POLL_S)
        thread.join(30)
        status, body = http_get(port, "/prometheus")
        applied = prometheus_counters(body).get("growthstream_events_applied_total")
        rss = rss_bytes(proc.pid)
        latency = None
        if latency_s > 0 and counted is not None:
            latency = _latency(target, settings, proc, log, wanted, run, latency_s)
    finally:
        children.stop(proc)
    if produced.get("total") == NEW_EVENTS:
        target.produced += NEW_EVENTS
    return {
        "health_200_after_s": rnd(health), "new_events_counted_after_s": rnd(counted),
        "new_events_produced": produced.get("total"),
        "new_events_produced_after_s": rnd(produced.get("at")),
        "applied_after_restart": None if status != 200 else applied,
        "rss_after_recovery_bytes": rss, "redis_events_before_kill": count_before,
        "latency": latency, **_latency_figures(latency),
    }  # fmt: skip


def _latency_figures(latency: dict[str, Any] | None) -> dict[str, Any]:
    """The paced phase's headline figures, flat (None without it)."""
    if latency is None:
        return dict.fromkeys(LATENCY_KEYS)
    change, redis = latency["change_receive"]["all"], latency["redis_metrics"]["all"]
    return {
        "latency_rate": latency["achieved_rate"],
        "latency_change_p50_ms": change["p50_ms"], "latency_change_p99_ms": change["p99_ms"],
        "latency_redis_p50_ms": redis["p50_ms"], "latency_redis_p99_ms": redis["p99_ms"],
    }  # fmt: skip


def _latency(
    target: Target, settings: Any, proc: Any, log: Path, base: int, run: str, seconds: float
) -> dict[str, Any]:
    """Produce -> metric change and -> Redis, at `LATENCY_RATE` on the recovered state."""
    total = int(LATENCY_RATE * seconds)
    tag = f"{target.base}-{run}-paced"
    lines = list(replay_lines(target.world.after_end(total, tag), target.topics))
    services = {
        "GROWTH_KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "GROWTH_REDIS_URL": settings.redis_url.get_secret_value(),
    }
    paced = Paced(
        services, settings, settings.redis_prefix, target.partitions,
        LATENCY_RATE, 5.0, LATENCY_CHANGE_INTERVAL_MS, base_count=base,
        label=f"latency {target.name} {run}",
    )  # fmt: skip
    ids = [f"{tag}-{i}" for i in range(total)]
    raw = log.parent / f"{target.name}-{run}-latency.json"
    result = measure_paced(paced, list(zip(lines, ids, strict=True)), proc, log, raw)
    target.produced += total
    return result


def worker_run(
    children: Children, services: dict[str, str], target: Target, run: str, workdir: Path,
    sample_s: float, latency_s: float, census_s: float = 0.0,
) -> dict[str, Any]:  # fmt: skip
    settings = target.settings(services, run, workdir)
    env = child_env(services, settings_env(settings))
    if census_s > 0:
        env |= {"BENCH_CENSUS_SECONDS": str(census_s),
                "BENCH_CENSUS_OUT": str(workdir / f"{target.name}-{run}-census.jsonl")}  # fmt: skip
    n, users = target.produced, target.world.total_users
    port = free_port()
    timeout = 120 + n / 5000
    client = redis_client(services)
    log = workdir / f"{target.name}-{run}.log"
    started = time.time()
    proc = children.start(_command(port, env), env=env, cwd=str(workdir), log=log)
    samples: list[Sample] = []

    def take() -> Sample:
        previous = samples[-1] if samples else None
        return take_sample(started, port, proc.pid, client, settings.redis_prefix, previous)

    try:
        last_said = 0.0
        while True:
            samples.append(take())
            sample = samples[-1]
            if sample.applied >= n and sample.redis_count >= n:
                break
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited ({proc.returncode})\n{log_tail(log)}")
            if sample.t > timeout:
                say(f"worker {target.name} {run}: timed out at {sample.applied:,.0f}/{n:,}")
                break
            if sample.t - last_said >= 10:
                last_said = sample.t
                rss = (sample.rss or 0) / MB
                say(f"worker {target.name} {run}: {sample.applied:,.0f}/{n:,} applied, Redis "
                    f"{sample.redis_count:,}, RSS {rss:.0f} MB after {sample.t:.0f}s")  # fmt: skip
            time.sleep(sample_s)
        cpu = cpu_seconds(proc.pid)
        result = whole_run(samples, n, users)
        result["cpu_seconds"] = rnd(cpu)
        result["complete"] = samples[-1].applied >= n
        settled = _settle(samples, take, settings, n)
        result["settled"] = settled is not None
        result["committed_all_after_s"] = rnd(settled)
        before = samples[-1]
        result |= {f"settled_{k}": v for k, v in per_checkpoint(samples[0], before).items()}
        result["rss_settled_bytes"] = before.rss
        _kill(children, proc)
        brief = {k: v for k, v in result.items() if k != "segments"}
        say(f"worker {target.name} {run}: {json.dumps(brief)}")
        if result["complete"]:
            result["recovery"] = _recover(
                children, target, settings, env, port, workdir / f"{target.name}-{run}-restart.log",
                client, before.redis_events, run, latency_s,
            )  # fmt: skip
            say(f"worker {target.name} {run}: recovery {json.dumps(result['recovery'])}")
            result["recovery"]["log"] = log_findings(workdir / f"{target.name}-{run}-restart.log")
    finally:
        if proc.poll() is None:
            children.stop(proc)
        client.close()
    if census_s > 0:
        result["census"] = {
            "caught_up": last_census(Path(env["BENCH_CENSUS_OUT"])),
            "restarted": last_census(workdir / f"{target.name}-{run}-restart-census.jsonl"),
        }
    found = log_findings(log)
    result |= {"events": n, "users": users, "app_id": settings.app_id, "log": found}
    result["checkpoints_not_acknowledged"] = found["checkpoints_not_acknowledged"]
    result["longest_checkpoint_timer_s"] = found["longest_overlapping_timer_s"].get("checkpoint")
    result["raw_samples"] = as_rows(samples)
    return result
