"""The broker killed (SIGKILL) mid-stream and started again on its own data: the replay's
outputs all the same (issue 9, item 6). Needs the broker of scripts/services, which it kills."""

from __future__ import annotations

import subprocess
import time

from agents.kafka.topics import ensure_topics
from models.settings import Settings
from tests.support.environment import services_environment
from tests.support.faults import (
    Producer,
    assert_worker_holds,
    expected_of,
    fault_stream,
    when_counted,
)
from tests.support.services import services_unavailable
from tests.support.workers import ROOT, Workers

DOWN_S = 3


def services(verb: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "services"), verb],
        capture_output=True, text=True, timeout=180, env=services_environment(),
    )  # fmt: skip


def test_the_broker_killed_and_restarted_mid_stream(settings: Settings, group: Workers) -> None:
    if services("status").returncode != 0:
        services_unavailable("the broker-restart fault kills the broker of scripts/services")
    lines = fault_stream(settings, seed=46)
    expected = expected_of(settings, lines)
    ensure_topics(settings)
    group.start(1)
    group.start(2)
    group.wait_ready(1)
    group.wait_ready(2)
    producer = Producer(lines, settings)
    producer.start()
    when_counted(settings, 0.4, len(lines), group)
    killed = services("kill-kafka")
    assert killed.returncode == 0, killed.stderr
    try:
        time.sleep(DOWN_S)
    finally:
        started = services("start-kafka")
    assert started.returncode == 0, started.stderr
    producer.finish()
    assert_worker_holds(settings, expected, group)
