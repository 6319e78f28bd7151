"""The HTTP API of a real worker on a real broker and Redis answers with the replay's figures."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from typing import Any

import redis
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from agents.embedded.replay import ReplayOutputs, replay_lines
from agents.kafka.producer import produce_lines
from agents.kafka.topics import ensure_topics
from models.jsonout import dumps
from models.redis_text import field_text
from models.settings import Settings
from state.figures import FIGURES
from state.month_tables import MONTH_CSV_COLUMNS, month_end_day
from state.projection import account_view
from tests.support.workers import (
    Workers,
    get_json,
    http_get,
    redis_hash,
    wait_for_figures,
    wait_until,
    worker_settings,
    world,
)


def _json(value: object) -> Any:
    """`value` as the API writes it, read back as the test client reads it."""
    return json.loads(dumps(value), parse_float=Decimal)


def test_every_endpoint_of_a_caught_up_worker(fresh_names: Settings, workers: Workers) -> None:
    one_worker = workers
    settings = worker_settings(fresh_names)
    lines = world(settings, seed=21, accounts=60, days=120)
    replayed: list[dict[str, Any]] = []
    replay = replay_lines(
        lines, settings, ReplayOutputs(alert=lambda a: replayed.append(a.model_dump()))
    )
    engine = replay.engine
    expected = replay.snapshot()
    alerts_of: dict[str, list[str]] = {}
    for alert in replayed:
        alerts_of.setdefault(str(alert["account_id"]), []).append(str(alert["alert_id"]))
    ensure_topics(settings)
    produce_lines(lines, settings)
    one_worker.start(1)
    port = one_worker.port(1)
    wait_for_figures(settings, expected, one_worker)

    health = wait_until(
        lambda: http_get(port, "/health")[0] == 200, "a ready /health", tail=one_worker.tail
    )
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
    monthly = get_json(port, f"/metrics/mrr/series?granularity=month&to={expected['day']}")
    assert monthly["granularity"] == "month"
    assert monthly["periods"][-1] == {
        "period": str(expected["day"])[:7], "day": expected["day"], "value": expected["mrr"],
    }  # fmt: skip
    status, content_type, text = http_get(port, "/metrics/mrr/series?days=3&format=csv")
    assert (status, content_type) == (200, "text/csv; charset=utf-8")
    assert text.decode().splitlines()[0] == "period,day,value"
    assert text.decode().splitlines()[-1].endswith(f",{expected['mrr']}")
    dau = get_json(port, "/metrics/dau/series")
    assert len(dau["days"]) == 30 and dau["days"][-1]["value"] == expected["dau"]

    by_partitions = replay_lines(lines, settings, partitions=settings.topic_partitions)
    months = _json({"months": [r.model_dump() for r in by_partitions.months()]})
    assert len(months["months"]) >= 4
    # every month's end, including the months before the lateness: the worker's history
    # is every day of `replay --partitions P --series` (state/final_days.py)
    today = date.fromisoformat(str(expected["day"]))

    def months_match() -> bool:
        return bool(get_json(port, "/months") == months)

    wait_until(months_match, "the months table and its month ends", tail=one_worker.tail)
    served = get_json(port, "/months")["months"]
    assert served[-1]["at_end"] == {name: expected[name] for name in FIGURES}
    hashes = {name: redis_hash(settings, f"series:{name}") for name in FIGURES}
    for row in served:  # every month's end is what the series hashes hold at its end day
        end = month_end_day(row["month"], today)
        assert end is not None and list(row["at_end"]) == list(FIGURES)
        assert {n: field_text(v) for n, v in row["at_end"].items()} == {
            n: hashes[n].get(end.isoformat(), "") for n in FIGURES
        }, row["month"]
    first, last = months["months"][1]["month"], months["months"][-2]["month"]
    ranged = get_json(port, f"/months?from={first}&to={last}")["months"]
    assert ranged == served[1:-1]
    cohorts = get_json(port, "/cohorts?metric=mrr")
    assert cohorts["metric"] == "mrr"
    assert cohorts["cohorts"] == _json([
        {"cohort": r.cohort, "month": r.month, "months_since": r.months_since,
         "currency": r.currency, "value": r.mrr, "pct": r.mrr_pct}
        for r in by_partitions.cohorts()
    ])  # fmt: skip
    assert [c["value"] for c in get_json(port, "/cohorts")["cohorts"]] == [
        r.customers for r in by_partitions.cohorts()
    ]
    status, content_type, text = http_get(port, "/months?format=csv")
    assert (status, content_type) == (200, "text/csv; charset=utf-8")
    table = list(csv.DictReader(io.StringIO(text.decode())))
    assert [r["mrr_at_end"] for r in table] == [str(m["mrr_at_end"]) for m in months["months"]]
    assert list(table[0]) == list(MONTH_CSV_COLUMNS)
    assert [{n: r[f"end_{n}"] for n in FIGURES} for r in table] == [
        {n: field_text(v) for n, v in m["at_end"].items()} for m in served
    ]
    assert table[-1]["end_mrr"] == table[-1]["mrr_at_end"] == str(expected["mrr"])
    for path in ("/metrics/mrr/series?granularity=year", "/metrics/mrr/series?from=x",
                 "/months?from=2026-13", "/months?from=2026-05&to=2026-01",
                 "/cohorts?metric=nps", "/months?format=xml"):  # fmt: skip
        assert "error" in get_json(port, path, 400), path

    paying = sorted(a for a, acc in engine.ledger.accounts.items() if acc.mrr > 0)
    churned = sorted(
        a for a, acc in engine.ledger.accounts.items() if acc.ever_paid and not acc.mrr
    )
    for account_id in (paying[0], churned[0] if churned else paying[-1]):
        view = account_view(engine, account_id)
        assert view is not None
        want = json.loads(view.to_json(), parse_float=Decimal)

        def matches(account_id: str = account_id, want: Any = want) -> bool:
            got = get_json(port, f"/accounts/{account_id}")
            return all(got[k] == v for k, v in want.items())

        wait_until(matches, f"account {account_id} in Redis", tail=one_worker.tail)
        assert get_json(port, f"/accounts/{account_id}")["account_id"] == account_id
    assert get_json(port, f"/accounts/{paying[0]}")["paying_since"] is not None

    every = f"/alerts?limit={len(replayed)}"
    assert len(replayed) > 5
    wait_until(
        lambda: len(get_json(port, every)["alerts"]) == len(replayed),
        "every alert",
        tail=one_worker.tail,
    )
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

    status, content_type, text = http_get(port, "/prometheus")
    assert status == 200
    assert content_type == "application/openmetrics-text; version=1.0.0; charset=utf-8"
    assert text.endswith(b"# EOF\n")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())  # type: ignore[no-untyped-call]
        for s in family.samples
    }
    assert samples[("growthstream_events_applied_total", ())] == expected["events"]
    assert samples[("growthstream_duplicates_total", ())] == expected["duplicates"]
    dead = sum(v for (name, _), v in samples.items() if name == "growthstream_dead_letters_total")
    assert dead == expected["dead_letters"]
    assert samples[("growthstream_figure", (("name", "mrr"),))] == float(str(expected["mrr"]))
    assert samples[("growthstream_processing_latency_seconds_count", ())] == len(lines)
    lags = [v for (name, _), v in samples.items() if name == "growthstream_consumer_lag"]
    assert len(lags) == 5 * settings.topic_partitions and not any(lags)
