"""The HTTP API's conversions and parsing, and the OpenMetrics exposition, without a server."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import orjson
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from agents.demo import DEMO_FX_RATES, WorldSpec, generate
from agents.embedded.replay import replay_lines
from agents.serving.api import (
    SNAPSHOT_KINDS,
    AlertQuery,
    ApiError,
    account_body,
    health_body,
    parse_alert,
    parse_alert_query,
    parse_days,
    select_alerts,
    series_body,
    snapshot_body,
)
from agents.serving.telemetry import LATENCY_BUCKETS, Telemetry, consumer_lag, openmetrics_text
from models.jsonout import dumps
from models.outputs import Snapshot
from models.redis_text import fields_text
from models.settings import Settings


def _snapshot() -> dict[str, Any]:
    settings = Settings(fx_rates=dict(DEMO_FX_RATES))
    lines = [orjson.dumps(line, default=str) for line in generate(WorldSpec(seed=3, days=60))]
    return replay_lines(lines, settings).snapshot()


def _alert(n: int, account: str = "acct-1", rule: str = "payment_failed") -> dict[str, Any]:
    return {
        "alert_id": f"a{n}",
        "rule": rule,
        "severity": "warning",
        "account_id": account,
        "as_of": f"2026-03-{n:02d}T12:00:00Z",
        "message": "m",
        "facts": {"amount": Decimal("49.10")},
    }


def test_snapshot_body_gives_back_the_engine_snapshot_from_redis_text() -> None:
    snapshot = _snapshot()
    body = snapshot_body(fields_text(snapshot))
    assert body == snapshot
    assert list(body) == list(Snapshot.model_fields)
    assert isinstance(body["mrr"], Decimal) and isinstance(body["dau"], int)
    text = dumps(body)
    assert f'"mrr":{snapshot["mrr"]}' in text  # an exact JSON number, not a string or float
    assert orjson.loads(text)["paying_customers"] == snapshot["paying_customers"]


def test_snapshot_kinds_follow_the_output_model() -> None:
    assert SNAPSHOT_KINDS["mrr"] == "decimal"
    assert SNAPSHOT_KINDS["nps"] == "decimal"
    assert SNAPSHOT_KINDS["events"] == "int"
    assert SNAPSHOT_KINDS["as_of"] == "str"


def test_snapshot_body_needs_complete_figures() -> None:
    with pytest.raises(ApiError) as empty:
        snapshot_body({})
    assert empty.value.status == 503
    with pytest.raises(ApiError) as partial:
        snapshot_body({"mrr": "10.00", "as_of": "2026-01-01T00:00:00Z"})
    assert partial.value.status == 503
    broken = fields_text(_snapshot()) | {"dau": "many"}
    with pytest.raises(ApiError):
        snapshot_body(broken)


@pytest.mark.parametrize("raw", ["0", "367", "-1", "ten", "1.5", ""])
def test_parse_days_rejects_out_of_range_and_non_integers(raw: str) -> None:
    with pytest.raises(ApiError) as error:
        parse_days(raw)
    assert error.value.status == 400
    assert "days" in error.value.body()["error"]


def test_parse_days_bounds_and_default() -> None:
    assert parse_days(None) == 30
    assert parse_days("1") == 1
    assert parse_days("366") == 366


def test_series_body_lists_days_oldest_first_with_nulls() -> None:
    raw = {"2026-03-01": "10.00", "2026-03-03": "12.50", "2026-03-02": ""}
    body = series_body("mrr", raw, date(2026, 3, 4), 4)
    assert body == {
        "metric": "mrr",
        "days": [
            {"day": "2026-03-01", "value": Decimal("10.00")},
            {"day": "2026-03-02", "value": None},
            {"day": "2026-03-03", "value": Decimal("12.50")},
            {"day": "2026-03-04", "value": None},
        ],
    }
    assert series_body("dau", {"2026-03-03": "7"}, None, 2)["days"] == [
        {"day": "2026-03-02", "value": None},
        {"day": "2026-03-03", "value": 7},
    ]
    assert series_body("dau", {}, None, 2)["days"] == []


def test_series_body_unknown_metric_is_404() -> None:
    with pytest.raises(ApiError) as error:
        series_body("as_of", {}, None, 3)
    assert error.value.status == 404


def test_parse_alert_keeps_valid_churn_alerts_only() -> None:
    alert = _alert(1)
    parsed = parse_alert(dumps(alert))
    assert parsed == alert and isinstance(parsed["facts"]["amount"], Decimal)
    assert parse_alert("not json") is None
    assert parse_alert(dumps({**alert, "rule": "made_up"})) is None
    assert parse_alert(dumps([1])) is None
    assert parse_alert(None) is None


def test_account_body_types_fields_and_keeps_its_own_alerts() -> None:
    raw = {
        "mrr": "49.10",
        "currency": "USD",
        "status": "paying",
        "plan": "",
        "paying_since": "2026-01-17",
        "last_active": "2026-03-01T10:00:00Z",
        "last_score": "9",
        "churn_risk": '["payment_failed"]',
    }
    alerts = [_alert(1), _alert(2, account="acct-2"), _alert(3), _alert(3)]
    body = account_body("acct-1", raw, alerts)
    assert body == {
        "account_id": "acct-1",
        "mrr": Decimal("49.10"),
        "currency": "USD",
        "status": "paying",
        "plan": None,
        "paying_since": "2026-01-17",
        "last_active": "2026-03-01T10:00:00Z",
        "last_score": 9,
        "churn_risk": ["payment_failed"],
        "subscriptions": [],  # a hash written before subscriptions were listed
        "open_alerts": [_alert(1), _alert(3)],
    }
    with pytest.raises(ApiError) as unknown:
        account_body("acct-9", {}, [])
    assert unknown.value.status == 404


def test_parse_alert_query() -> None:
    query = parse_alert_query({"since": "2026-03-02T00:00:00Z", "rule": "downgrade", "limit": "5"})
    assert query.rule == "downgrade" and query.limit == 5
    assert query.since is not None and query.since.isoformat() == "2026-03-02T00:00:00+00:00"
    assert parse_alert_query({}) == AlertQuery()
    for bad in ({"since": "yesterday"}, {"since": "2026-03-02T00:00:00"}, {"rule": "nope"},
                {"limit": "0"}, {"limit": "1001"}, {"limit": "x"}):  # fmt: skip
        with pytest.raises(ApiError) as error:
            parse_alert_query(bad)
        assert error.value.status == 400, bad


def test_select_alerts_filters_and_keeps_the_newest_last() -> None:
    alerts = [_alert(n, rule="downgrade" if n % 2 else "detractor") for n in range(1, 9)]
    since = parse_alert_query({"since": "2026-03-04T00:00:00+00:00"})
    assert [a["alert_id"] for a in select_alerts(alerts, since)] == [f"a{n}" for n in range(4, 9)]
    rule = parse_alert_query({"rule": "downgrade", "limit": "2"})
    assert [a["alert_id"] for a in select_alerts(alerts, rule)] == ["a5", "a7"]
    both = parse_alert_query({"rule": "detractor", "since": "2026-03-05T12:00:01Z"})
    assert [a["alert_id"] for a in select_alerts(alerts, both)] == ["a6", "a8"]


def test_health_is_ready_only_with_redis_recovered_tables_and_no_rebalance() -> None:
    lag = {("signups", 1): 3, ("signups", 0): 0, ("payments", 0): None}
    status, body = health_body(lag=lag, redis_ok=True, recovered=True, rebalancing=False)
    assert status == 200 and body["ready"] is True and body["total_lag"] == 3
    assert body["partitions"] == [
        {"topic": "payments", "partition": 0, "lag": None},
        {"topic": "signups", "partition": 0, "lag": 0},
        {"topic": "signups", "partition": 1, "lag": 3},
    ]
    for flags in ((False, True, False), (True, False, False), (True, True, True)):
        redis_ok, recovered, rebalancing = flags
        status, body = health_body(
            lag={}, redis_ok=redis_ok, recovered=recovered, rebalancing=rebalancing
        )
        assert (status, body["ready"], body["live"]) == (503, False, True), flags


def test_consumer_lag() -> None:
    assert consumer_lag(None, 5, None) is None
    assert consumer_lag(10, 9, None) == 0
    assert consumer_lag(10, 4, None) == 5
    assert consumer_lag(10, None, 7) == 2  # restored from a checkpoint, nothing received yet
    assert consumer_lag(10, 3, 7) == 2
    assert consumer_lag(10, None, None) == 10
    assert consumer_lag(0, None, None) == 0


def test_openmetrics_exposition_parses_and_holds_every_count() -> None:
    telemetry = Telemetry()
    for latency in (0.001, 0.02, 0.02, 3.0, 1000.0, -1.0):
        telemetry.count(None, duplicate=False, latency_s=latency)
    telemetry.count(None, duplicate=True, latency_s=0.2)
    telemetry.count("late", duplicate=False, latency_s=0.2)
    telemetry.count("not_json", duplicate=False, latency_s=0.2)
    telemetry.count("late", duplicate=False, latency_s=0.2)
    telemetry.checkpointed(120, 9_000, 0.25)
    telemetry.checkpointed(3, 400, 0.5)
    snapshot = _snapshot()
    text = openmetrics_text(snapshot, telemetry, {("signups", 0): 4, ("payments", 1): None})
    assert text.endswith(b"# EOF\n")
    families = {f.name: f for f in text_string_to_metric_families(text.decode())}  # type: ignore[no-untyped-call]

    figures = {s.labels["name"]: s.value for s in families["growthstream_figure"].samples}
    numeric = {k: v for k, v in snapshot.items() if isinstance(v, Decimal | int)}
    assert figures == {k: float(v) for k, v in numeric.items()}
    assert "as_of" not in figures and figures["mrr"] == float(snapshot["mrr"])

    def value(family: str, suffix: str = "_total", **labels: str) -> float:
        for sample in families[family].samples:
            if sample.name == family + suffix and sample.labels == labels:
                return float(sample.value)
        raise AssertionError((family, labels))

    assert value("growthstream_events_applied") == 6
    assert value("growthstream_duplicates") == 1
    assert value("growthstream_dead_letters", reason="late") == 2
    assert value("growthstream_dead_letters", reason="not_json") == 1
    assert value("growthstream_consumer_lag", "", topic="signups", partition="0") == 4
    assert value("growthstream_checkpoints") == 2
    assert value("growthstream_checkpoint_records") == 123
    assert value("growthstream_checkpoint_bytes") == 9_400
    assert value("growthstream_checkpoint_seconds") == pytest.approx(0.75)
    lag_samples = families["growthstream_consumer_lag"].samples
    assert [s.labels["topic"] for s in lag_samples] == ["signups"]  # unknown lag: no sample
    histogram = "growthstream_processing_latency_seconds"
    assert families[histogram].type == "histogram"
    assert value(histogram, "_count") == 10
    assert value(histogram, "_bucket", le="0.005") == 2  # 0.001 and the negative one (as 0)
    assert value(histogram, "_bucket", le="0.025") == 4
    assert value(histogram, "_bucket", le="300.0") == 9
    assert value(histogram, "_bucket", le="+Inf") == 10
    assert value(histogram, "_sum") == pytest.approx(1003.841)
    assert len(telemetry.latency_counts) == len(LATENCY_BUCKETS) + 1


def test_openmetrics_exposition_without_figures() -> None:
    text = openmetrics_text({}, Telemetry(), {})
    families = {f.name: f for f in text_string_to_metric_families(text.decode())}  # type: ignore[no-untyped-call]
    assert families["growthstream_figure"].samples == []
    assert families["growthstream_events_applied"].samples[0].value == 0
