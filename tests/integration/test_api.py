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
from agents.replay import replay_lines
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


def _alert(n: int, account: str, rule: str) -> dict[str, Any]:
    return {
        "alert_id": f"test-{n}",
        "rule": rule,
        "severity": "warning",
        "account_id": account,
        "as_of": f"2026-05-{n:02d}T08:00:00Z",
        "message": f"alert {n}",
        "facts": {"amount": Decimal("19.90")},
    }


def test_every_endpoint_of_a_caught_up_worker(fresh_names: Settings, one_worker: Workers) -> None:
    settings = _settings(fresh_names)
    lines = _world(settings, seed=21, accounts=60, days=120)
    engine = replay_lines(lines, settings)
    expected = engine.snapshot()
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
        got = get_json(port, f"/accounts/{account_id}")
        assert got["open_alerts"] == [] and got["account_id"] == account_id
    assert get_json(port, f"/accounts/{paying[0]}")["paying_since"] is not None

    client = redis.Redis.from_url(settings.redis_url.get_secret_value())
    try:
        for n, rule in enumerate(["payment_failed", "downgrade", "payment_failed"], start=1):
            client.xadd(
                f"{settings.redis_prefix}alerts", {"alert": dumps(_alert(n, paying[0], rule))}
            )
        client.xadd(f"{settings.redis_prefix}alerts", {"alert": "not an alert"})
    finally:
        client.close()
    alerts = get_json(port, "/alerts")["alerts"]
    assert [a["alert_id"] for a in alerts] == ["test-1", "test-2", "test-3"]
    assert alerts[0]["facts"] == {"amount": Decimal("19.90")}
    filtered = get_json(port, "/alerts?rule=payment_failed&since=2026-05-02T00:00:00Z")
    assert [a["alert_id"] for a in filtered["alerts"]] == ["test-3"]
    assert [a["alert_id"] for a in get_json(port, "/alerts?limit=1")["alerts"]] == ["test-3"]
    account = get_json(port, f"/accounts/{paying[0]}")
    assert [a["alert_id"] for a in account["open_alerts"]] == ["test-1", "test-2", "test-3"]

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
