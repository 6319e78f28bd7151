"""Real workers on a real broker and Redis give the replay's figures, crash or no crash."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis
from kafka import KafkaConsumer

from agents.demo import DEMO_FX_RATES, WorldSpec, generate
from agents.kafka_io import client_config, ensure_topics, produce_lines
from agents.redis_view import field_text
from agents.replay import ReplayOutputs, replay_lines
from models.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 150


def _settings(base: Settings) -> Settings:
    return base.model_copy(
        update={
            "topic_partitions": 4,
            "fx_rates": dict(DEMO_FX_RATES),
            "change_interval_ms": 200,
            "checkpoint_interval_ms": 300,
        }
    )


def _env(settings: Settings) -> dict[str, str]:
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


def _world(settings: Settings, seed: int, accounts: int, days: int) -> list[bytes]:
    """A synthetic world with traps, on this test's topic names."""
    names = {
        "signups": settings.topic_signups,
        "payments": settings.topic_payments,
        "cancellations": settings.topic_cancellations,
        "activity": settings.topic_activity,
        "surveys": settings.topic_surveys,
    }
    lines = []
    for line in generate(WorldSpec(seed=seed, accounts=accounts, days=days)):
        renamed = {**line, "topic": names[str(line["topic"])]}
        lines.append(orjson.dumps(renamed, default=str))
    return lines


class Workers:
    """Worker processes, started and killed like an operator would."""

    def __init__(self, settings: Settings, logs: Path) -> None:
        self.env = _env(settings) | {"GROWTH_DATA_DIR": str(logs / "data")}
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
        return "\n".join(
            f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-25:])
            for p in sorted(self.logs.glob("worker-*.log"))
        )


@pytest.fixture
def workers(fresh_names: Settings, tmp_path: Path) -> Iterator[Workers]:
    group = Workers(_settings(fresh_names), tmp_path)
    yield group
    group.stop_all()


def _metrics(settings: Settings) -> dict[str, str]:
    client = redis.Redis.from_url(settings.redis_url.get_secret_value(), decode_responses=True)
    try:
        return dict(client.hgetall(f"{settings.redis_prefix}metrics"))  # type: ignore[arg-type]
    finally:
        client.close()


def _total(metrics: dict[str, str]) -> int:
    return sum(int(metrics.get(k) or 0) for k in ("events", "duplicates", "dead_letters"))


def _wait_for(settings: Settings, expected: dict[str, Any], workers: Workers) -> dict[str, str]:
    """Redis metrics once they show every message and the final stream time, twice in a row."""
    want = {k: field_text(v) for k, v in expected.items()}
    deadline = time.monotonic() + WAIT_SECONDS
    stable = 0
    metrics: dict[str, str] = {}
    while time.monotonic() < deadline:
        metrics = _metrics(settings)
        stable = stable + 1 if metrics == want else 0
        if stable >= 2:
            return metrics
        time.sleep(0.5)
    diff = {k: (metrics.get(k), v) for k, v in want.items() if metrics.get(k) != v}
    raise AssertionError(f"Redis metrics differ from the replay after {WAIT_SECONDS}s: {diff}\n"
                         f"{workers.tail()}")  # fmt: skip


def _read_all(settings: Settings, topic: str) -> list[Any]:
    consumer = KafkaConsumer(
        topic, auto_offset_reset="earliest", enable_auto_commit=False,
        consumer_timeout_ms=3000, **client_config(settings),
    )  # fmt: skip
    try:
        return list(consumer)
    finally:
        consumer.close()


def _replay(settings: Settings, lines: list[bytes]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    dead: list[dict[str, Any]] = []
    engine = replay_lines(lines, settings, ReplayOutputs(dead_letter=dead.append))
    return engine.snapshot(), dead


def test_two_workers_over_four_partitions_give_the_replay_figures(
    fresh_names: Settings, workers: Workers
) -> None:
    settings = _settings(fresh_names)
    lines = _world(settings, seed=11, accounts=80, days=150)
    expected, dead = _replay(settings, lines)
    assert expected["dead_letters"] > 0 and expected["duplicates"] > 0
    ensure_topics(settings)
    summary = produce_lines(lines, settings)
    assert summary.total == len(lines)

    workers.start(1)
    workers.start(2)
    _wait_for(settings, expected, workers)

    last: dict[str, Any] = {}
    for message in _read_all(settings, settings.topic_metric_changes):
        record = orjson.loads(message.value)
        last[record["metric"]] = record["value"]
    for name, value in expected.items():
        if name in ("as_of", "day"):
            continue
        got = last.get(name, "unchanged")
        if got == "unchanged":  # never changed from its initial value (0 or null)
            assert value in (None, 0), name
        else:
            assert (None if got is None else Decimal(str(got))) == value, name

    letters = {}
    for message in _read_all(settings, settings.topic_dead_letters):
        record = orjson.loads(message.value)
        letters[(record["topic"], record["partition"], record["offset"])] = record
    assert sorted(r["raw"] for r in letters.values()) == sorted(d["raw"] for d in dead)
    by_type: dict[str, int] = {}
    for record in letters.values():
        by_type[record["error"]["type"]] = by_type.get(record["error"]["type"], 0) + 1
    expected_types: dict[str, int] = {}
    for record in dead:
        expected_types[record["error"]["type"]] = expected_types.get(record["error"]["type"], 0) + 1
    assert by_type == expected_types


def test_a_worker_killed_with_sigkill_recovers_without_double_counting(
    fresh_names: Settings, workers: Workers
) -> None:
    settings = _settings(fresh_names)
    lines = _world(settings, seed=12, accounts=120, days=150)
    half = len(lines) // 2
    expected_half, _ = _replay(settings, lines[:half])
    expected, _ = _replay(settings, lines)
    ensure_topics(settings)
    produce_lines(lines[:half], settings)

    workers.start(1)
    _wait_for(settings, expected_half, workers)
    workers.kill(1)  # after a checkpoint or not: whatever the kill interrupts

    produce_lines(lines[half:], settings)
    workers.start(1)
    deadline = time.monotonic() + WAIT_SECONDS
    while _total(_metrics(settings)) <= _total({k: str(v) for k, v in expected_half.items()}):
        assert time.monotonic() < deadline, workers.tail()
        time.sleep(0.05)
    workers.kill(1)  # mid-stream: some events applied since the last checkpoint are lost
    workers.start(1)
    _wait_for(settings, expected, workers)
