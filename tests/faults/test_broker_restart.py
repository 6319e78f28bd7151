"""The broker killed (SIGKILL) mid-stream and started again on its own data: the replay's
outputs all the same (issue 9, item 6). Needs the broker of scripts/services, which it kills."""

from __future__ import annotations

import subprocess
import time

from models.settings import Settings
from tests.support.environment import services_environment
from tests.support.faults import assert_worker_holds, two_workers_then_the_stream, when_counted
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
    run = two_workers_then_the_stream(settings, group, seed=46)
    when_counted(settings, 0.4, len(run.lines), group)
    killed = services("kill-kafka")
    assert killed.returncode == 0, killed.stderr
    try:
        time.sleep(DOWN_S)
    finally:
        started = services("start-kafka")
    assert started.returncode == 0, started.stderr
    run.producer.finish()
    assert_worker_holds(settings, run.expected, group)
