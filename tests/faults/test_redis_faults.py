"""Redis is the read model: losing it loses nothing. Stopped for 30 s mid-stream, or killed
and restarted empty after the worker caught up, it ends up holding every key again, equal
to the replay's (EVENTS.md "Redis"; issue 9, item 5)."""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import SecretStr

from models.settings import Settings
from tests.support.faults import assert_worker_holds, two_workers_then_the_stream, when_counted
from tests.support.redis_server import RedisServer
from tests.support.workers import Workers, wait_for_figures

OUTAGE_S = 30


def on_own_redis(settings: Settings, server: RedisServer, logs: Path) -> tuple[Settings, Workers]:
    moved = settings.model_copy(update={"redis_url": SecretStr(server.url)})
    return moved, Workers(moved, logs)


def test_redis_stopped_for_30s_mid_stream(
    settings: Settings, own_redis: RedisServer, tmp_path: Path
) -> None:
    settings, group = on_own_redis(settings, own_redis, tmp_path)
    try:
        run = two_workers_then_the_stream(settings, group, seed=44)
        when_counted(settings, 0.3, len(run.lines), group)
        own_redis.stop()
        time.sleep(OUTAGE_S)
        own_redis.start()  # empty: no persistence
        run.producer.finish()
        assert_worker_holds(settings, run.expected, group)
    finally:
        group.stop_all()


def test_redis_killed_and_restarted_empty_after_the_worker_caught_up(
    settings: Settings, own_redis: RedisServer, tmp_path: Path
) -> None:
    settings, group = on_own_redis(settings, own_redis, tmp_path)
    try:
        run = two_workers_then_the_stream(settings, group, seed=45, in_background=False)
        wait_for_figures(settings, run.expected.snapshot, group)
        own_redis.kill()
        own_redis.start()
        assert_worker_holds(settings, run.expected, group)
    finally:
        group.stop_all()
