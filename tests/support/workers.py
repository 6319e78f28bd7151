"""Worker processes on the real broker and Redis, started and killed as an operator would,
and the one `wait_until` every integration test polls with."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import orjson
import redis
from kafka import KafkaConsumer

from agents.demo import DEMO_FX_RATES, WorldSpec, generate
from agents.embedded.replay import ReplayOutputs, replay_lines
from agents.kafka.config import client_config
from models.redis_text import field_text
from models.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 150
T = TypeVar("T")


def worker_settings(base: Settings) -> Settings:
    """A test's names with short intervals: 4 partitions, demo currencies."""
    return base.model_copy(
        update={
            "topic_partitions": 4,
            "fx_rates": dict(DEMO_FX_RATES),
            "change_interval_ms": 200,
            "checkpoint_interval_ms": 300,
        }
    )


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a worker process read exactly these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROWTH_")}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        if isinstance(value, dict):
            value = json.dumps({k: str(v) for k, v in value.items()})
        env[f"GROWTH_{name.upper()}"] = str(value)
    return env


def kafka_environment(settings: Settings) -> Iterator[tuple[str, str]]:
    """The `GROWTH_*` variables that point a command at this test's broker and topics."""
    yield "GROWTH_KAFKA_BOOTSTRAP_SERVERS", settings.kafka_bootstrap_servers
    yield "GROWTH_APP_ID", settings.app_id
    for name in Settings.model_fields:
        if name.startswith("topic_") and name != "topic_partitions":
            yield f"GROWTH_{name.upper()}", str(getattr(settings, name))


def world(
    settings: Settings,
    seed: int,
    accounts: int,
    days: int,
    start: date | None = None,
    *,
    billing: bool = True,
) -> list[bytes]:
    """A synthetic world with traps, on this test's topic names (from WorldSpec's start
    unless `start` says otherwise; without `billing`, no BILLING.md field at all)."""
    names = {
        "signups": settings.topic_signups,
        "payments": settings.topic_payments,
        "cancellations": settings.topic_cancellations,
        "activity": settings.topic_activity,
        "surveys": settings.topic_surveys,
    }
    lines = []
    spec = WorldSpec(seed=seed, accounts=accounts, days=days, billing=billing)
    if start is not None:
        spec = WorldSpec(seed=seed, accounts=accounts, days=days, start=start, billing=billing)
    for line in generate(spec):
        renamed = {**line, "topic": names[str(line["topic"])]}
        lines.append(orjson.dumps(renamed, default=str))
    return lines


def wait_until(check: Callable[[], T | None], what: str, *, tail: Callable[[], str] = str) -> T:
    """The first truthy result of `check`, polled for up to `WAIT_SECONDS`."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{tail()}"
        time.sleep(0.2)


class Workers:
    """Worker processes, started and killed like an operator would."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        self.env = settings_env(settings) | {"GROWTH_DATA_DIR": str(logs / "data")}
        self.logs = logs
        self.procs: dict[int, subprocess.Popen[bytes]] = {}

    def port(self, index: int) -> int:
        return 16_100 + index + os.getpid() % 500 * 4

    def start(self, index: int) -> None:
        log = (self.logs / f"worker-{index}.log").open("ab")
        self.procs[index] = subprocess.Popen(
            [sys.executable, "-m", "agents.cli", "worker", "-l", "info",
             "--web-port", str(self.port(index))],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self, index: int) -> None:
        """Until the worker's `/health` says ready (group joined, tables recovered)."""
        wait_until(
            lambda: http_get(self.port(index), "/health")[0] == 200,
            f"worker {index} ready",
            tail=self.tail,
        )

    def stop(self, index: int) -> None:
        """SIGTERM, as an operator scaling down would."""
        proc = self.procs.pop(index)
        proc.terminate()
        proc.wait(timeout=30)

    def kill(self, index: int) -> None:
        proc = self.procs.pop(index)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()

    def tail(self) -> str:
        """The end of every worker's log, and what each running worker's `/health` says."""
        logs = [
            f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-25:])
            for p in sorted(self.logs.glob("worker-*.log"))
        ]
        health = [
            f"--- worker {index} /health: {http_get(self.port(index), '/health')[2].decode()}"
            for index in sorted(self.procs)
        ]
        return "\n".join(logs + health)


def redis_hash(settings: Settings, name: str) -> dict[str, str]:
    """The hash `{prefix}{name}` as text (`metrics`, `series:dau`, ...)."""
    client = redis.Redis.from_url(settings.redis_url.get_secret_value(), decode_responses=True)
    try:
        return dict(client.hgetall(f"{settings.redis_prefix}{name}"))  # type: ignore[arg-type]
    finally:
        client.close()


def redis_metrics(settings: Settings) -> dict[str, str]:
    return redis_hash(settings, "metrics")


def redis_table(settings: Settings, name: str) -> Any:
    """The JSON rows of `{prefix}{name}` (`months`, `cohorts`), None when absent."""
    client = redis.Redis.from_url(settings.redis_url.get_secret_value())
    try:
        raw = client.get(f"{settings.redis_prefix}{name}")
    finally:
        client.close()
    return None if raw is None else orjson.loads(raw)


def message_total(metrics: dict[str, str]) -> int:
    return sum(int(metrics.get(k) or 0) for k in ("events", "duplicates", "dead_letters"))


def wait_for_figures(
    settings: Settings, expected: dict[str, Any], workers: Workers
) -> dict[str, str]:
    """Redis metrics once they equal `expected` (every message and the final stream time),
    twice in a row."""
    want = {k: field_text(v) for k, v in expected.items()}
    last: dict[str, str] = {}
    stable = [0]

    def settled() -> dict[str, str] | None:
        nonlocal last
        last = redis_metrics(settings)
        stable[0] = stable[0] + 1 if last == want else 0
        return last if stable[0] >= 2 else None

    try:
        return wait_until(settled, "the replay's figures in Redis", tail=workers.tail)
    except AssertionError:
        diff = {k: (last.get(k), v) for k, v in want.items() if last.get(k) != v}
        message = f"Redis metrics differ from the replay: {diff}\n{workers.tail()}"
        raise AssertionError(message) from None


def read_all(settings: Settings, topic: str) -> list[Any]:
    consumer = KafkaConsumer(
        topic, auto_offset_reset="earliest", enable_auto_commit=False,
        consumer_timeout_ms=3000, **client_config(settings),
    )  # fmt: skip
    try:
        return list(consumer)
    finally:
        consumer.close()


def replayed(
    settings: Settings, lines: list[bytes]
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The replay's snapshot, dead letters and alerts (as JSON-like dicts) of `lines`."""
    dead: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    outputs = ReplayOutputs(
        dead_letter=lambda d: dead.append(d.model_dump()),
        alert=lambda a: alerts.append(a.model_dump()),
    )
    snapshot = replay_lines(lines, settings, outputs).snapshot()
    return dict(snapshot), dead, alerts


def http_get(port: int, path: str) -> tuple[int, str, bytes]:
    """(status, content type, body) of a GET, errors included (599 when nothing answers)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
        return 599, "text/plain", str(error).encode()


def get_json(port: int, path: str, status: int = 200) -> Any:
    got, content_type, body = http_get(port, path)
    assert got == status, (path, got, body)
    assert content_type.startswith("application/json"), (path, content_type)
    return json.loads(body, parse_float=Decimal)
