"""The HTTP API of a real worker on a real broker and Redis answers with the replay's figures."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import redis
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from agents.app import account_fields
from agents.kafka_io import ensure_topics, produce_lines
from agents.partition import PartitionState
from agents.replay import ReplayOutputs, replay_lines
from models.jsonout import dumps
from models.settings import Settings
from tests.integration.test_worker import WAIT_SECONDS, Workers, _settings, _wait_for, _world


@pytest.fixture
def one_worker(fresh_names: Settings, tmp_path: Path) -> Iterator[Workers]:
    group = Workers(_settings(fresh_names), tmp_path)
    yield group
    group.stop_all()


def get(port: int, path: str) -> tuple[int, str, bytes]:
    """(status, content type, body) of a GET, errors included."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


def get_json(port: int, path: str, status: int = 200) -> Any:
    got, content_type, body = get(port, path)
    assert got == status, (path, got, body)
    assert content_type.startswith("application/json"), (path, content_type)
    return json.loads(body, parse_float=Decimal)


def until(check: Any, workers: Workers, what: str) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{workers.tail()}"
        time.sleep(0.3)


def test_every_endpoint_of_a_caught_up_worker(fresh_names: Settings, one_worker: Workers) -> None:
    settings = _settings(fresh_names)
    lines = _world(settings, seed=21, accounts=60, days=120)
    replayed: list[dict[str, Any]] = []
    engine = replay_lines(lines, settings, ReplayOutputs(alert=replayed.append))
    expected = engine.snapshot()
    alerts_of: dict[str, list[str]] = {}
    for alert in replayed:
        alerts_of.setdefault(str(alert["account_id"]), []).append(str(alert["alert_id"]))
    ensure_topics(settings)
    produce_lines(lines, settings)
    one_worker.start(1)
    port = one_worker.port(1)
    _wait_for(settings, expected, one_worker)

    health = until(lambda: get(port, "/health")[0] == 200, one_worker, "a ready /health")
    assert health
    body = get_json(port, "/health")
    assert body["ready"] is True and body["redis"] is True
    assert len(body["partitions"]) == 5 * settings.topic_partitions
    assert body["total_lag"] == 0

    assert get_json(port, "/metrics") == expected

    series = get_json(port, "/metrics/mrr/series?days=7")
    assert series["metric"] == "mrr" and len(series["days"]) == 7
    assert series["days"][-1] == {"day": expected["day"], "value": expected["mrr"]}
    assert [d["day"] for d in series["days"]] == sorted(d["day"] for d in series["days"])
    dau = get_json(port, "/metrics/dau/series")
    assert len(dau["days"]) == 30 and dau["days"][-1]["value"] == expected["dau"]

    state = PartitionState(0, engine)
    paying = sorted(a for a, acc in engine.ledger.accounts.items() if acc.mrr > 0)
    churned = sorted(
        a for a, acc in engine.ledger.accounts.items() if acc.ever_paid and not acc.mrr
    )
    for account_id in (paying[0], churned[0] if churned else paying[-1]):
        want = json.loads(dumps(account_fields(state, account_id)), parse_float=Decimal)

        def matches(account_id: str = account_id, want: Any = want) -> bool:
            got = get_json(port, f"/accounts/{account_id}")
            return all(got[k] == v for k, v in want.items())

        until(matches, one_worker, f"account {account_id} in Redis")
        assert get_json(port, f"/accounts/{account_id}")["account_id"] == account_id
    assert get_json(port, f"/accounts/{paying[0]}")["paying_since"] is not None

    every = f"/alerts?limit={len(replayed)}"
    assert len(replayed) > 5
    until(lambda: len(get_json(port, every)["alerts"]) == len(replayed), one_worker, "every alert")
    alerts = get_json(port, every)["alerts"]
    assert sorted(a["alert_id"] for a in alerts) == sorted(a["alert_id"] for a in replayed)
    by_id = {a["alert_id"]: a for a in replayed}
    assert all(a["facts"] == json.loads(dumps(by_id[a["alert_id"]]["facts"]), parse_float=Decimal)
               for a in alerts)  # fmt: skip
    rule = str(replayed[0]["rule"])
    filtered = get_json(port, f"/alerts?rule={rule}&limit=1000")["alerts"]
    assert sorted(a["alert_id"] for a in filtered) == sorted(
        a["alert_id"] for a in replayed if a["rule"] == rule
    )
    since = sorted(str(a["as_of"]) for a in replayed)[len(replayed) // 2]
    recent = get_json(port, f"/alerts?since={since}&limit=1000")["alerts"]
    assert sorted(a["alert_id"] for a in recent) == sorted(
        a["alert_id"] for a in replayed if str(a["as_of"]) >= since
    )
    assert get_json(port, "/alerts?limit=1")["alerts"] == alerts[-1:]
    account_id = max(alerts_of, key=lambda a: (a != "global", len(alerts_of[a])))
    account = get_json(port, f"/accounts/{account_id}")
    assert sorted(a["alert_id"] for a in account["open_alerts"]) == sorted(alerts_of[account_id])

    client = redis.Redis.from_url(settings.redis_url.get_secret_value())
    try:
        client.xadd(f"{settings.redis_prefix}alerts", {"alert": "not an alert"})
    finally:
        client.close()
    assert len(get_json(port, every)["alerts"]) == len(replayed)  # a bad entry is skipped

    for path in ("/metrics/mrr/series?days=0", "/metrics/mrr/series?days=x",
                 "/alerts?rule=nope", "/alerts?since=never", "/alerts?limit=0"):  # fmt: skip
        assert "error" in get_json(port, path, 400), path
    for path in ("/metrics/no_such_figure/series", "/accounts/no-such-account", "/nowhere"):
        assert "error" in get_json(port, path, 404), path

    status, content_type, text = get(port, "/prometheus")
    assert status == 200
    assert content_type == "application/openmetrics-text; version=1.0.0; charset=utf-8"
    assert text.endswith(b"# EOF\n")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }
    assert samples[("growthstream_events_applied_total", ())] == expected["events"]
    assert samples[("growthstream_duplicates_total", ())] == expected["duplicates"]
    dead = sum(v for (name, _), v in samples.items() if name == "growthstream_dead_letters_total")
    assert dead == expected["dead_letters"]
    assert samples[("growthstream_figure", (("name", "mrr"),))] == float(expected["mrr"])
    assert samples[("growthstream_processing_latency_seconds_count", ())] == len(lines)
    lags = [v for (name, _), v in samples.items() if name == "growthstream_consumer_lag"]
    assert len(lags) == 5 * settings.topic_partitions and not any(lags)
