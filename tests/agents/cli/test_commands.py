"""The command line as a user meets it: files in, files out, exit codes, one-line errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import orjson
import pytest

from agents.cli import main
from agents.cli.embedded import demo_settings
from agents.demo import DEMO_FX_RATES
from models.tables import CohortRow, MonthRow
from state.figures import FIGURES

GOOD = {"event_id": "p1", "occurred_at": "2026-03-01T12:00:00Z", "account_id": "a1"}
README_RATES = '{"USD":1,"EUR":1.08,"GBP":1.27}'


def _write(path: Path, lines: list[object]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return path


@pytest.fixture
def stream(tmp_path: Path) -> Path:
    return _write(
        tmp_path / "events.jsonl",
        [
            {
                "topic": "payments",
                "key": "a1",
                "value": {**GOOD, "amount": "49.00", "currency": "USD"},
            },
            {
                "topic": "payments",
                "key": "a1",
                "value": {**GOOD, "amount": "49.00", "currency": "USD"},
            },
            {"topic": "activity", "key": "a1", "value": "{not json"},
            {"topic": "activity", "value": {**GOOD, "event_id": "x1", "user_id": "u1"}},
        ],
    )


def test_replay_writes_snapshot_changes_and_dead_letters(stream: Path, tmp_path: Path) -> None:
    snapshot, changes, dead = tmp_path / "s.json", tmp_path / "c.jsonl", tmp_path / "d.jsonl"
    code = main(["replay", str(stream), "--snapshot", str(snapshot),
                 "--changes", str(changes), "--dead-letters", str(dead)])  # fmt: skip
    assert code == 0
    figures = json.loads(snapshot.read_text())
    assert list(figures) == ["as_of", "day", "currency", *FIGURES]
    assert figures["currency"] == "USD"
    assert figures["as_of"] == "2026-03-01T12:00:00Z" and figures["day"] == "2026-03-01"
    assert (figures["mrr"], figures["paying_customers"], figures["dau"]) == (49.0, 1, 1)
    assert (figures["events"], figures["duplicates"], figures["dead_letters"]) == (2, 1, 1)
    assert figures["nps"] is None and figures["customer_churn_rate"] is None
    assert '"mrr":49.00' in snapshot.read_text()  # money as exact decimal text
    letters = [json.loads(line) for line in dead.read_text().splitlines()]
    assert [(d["raw"], d["error"]["type"], d["key"], d["offset"]) for d in letters] == [
        ("{not json", "not_json", "a1", 2)
    ]
    records = [json.loads(line) for line in changes.read_text().splitlines()]
    last = {r["metric"]: r["value"] for r in records}
    assert last["mrr"] == 49.0 and last["dead_letters"] == 1 and last["duplicates"] == 1
    mrr = next(r for r in records if r["metric"] == "mrr")
    assert (mrr["previous"], mrr["delta"], mrr["cause_event_id"]) == (0.0, 49.0, "p1")


def test_replay_writes_the_months_and_cohorts_tables(stream: Path, tmp_path: Path) -> None:
    months, cohorts = tmp_path / "m.csv", tmp_path / "c.csv"
    code = main(["replay", str(stream), "--snapshot", str(tmp_path / "s.json"),
                 "--months", str(months), "--cohorts", str(cohorts)])  # fmt: skip
    assert code == 0
    (month,) = list(csv.DictReader(io.StringIO(months.read_text())))
    fields = [name for name in MonthRow.model_fields if name != "at_end"]
    assert list(month) == [*fields, *(f"end_{name}" for name in FIGURES)]
    assert (month["end_mrr"], month["end_paying_customers"], month["end_dau"]) == (
        "49.00", "1", "1",
    )  # fmt: skip
    assert (month["month"], month["currency"], month["new_mrr"], month["new_customers"]) == (
        "2026-03", "USD", "49.00", "1",
    )  # fmt: skip
    assert (month["mrr_at_start"], month["mrr_at_end"], month["customers_at_end"]) == (
        "0.00", "49.00", "1",
    )  # fmt: skip
    (cohort,) = list(csv.DictReader(io.StringIO(cohorts.read_text())))
    assert list(cohort) == list(CohortRow.model_fields)
    assert (cohort["cohort"], cohort["months_since"], cohort["customers"], cohort["mrr"]) == (
        "2026-03", "0", "1", "49.00",
    )  # fmt: skip
    assert cohort["mrr_pct"] == "100.00"


def test_a_stream_without_payments_has_header_only_tables(tmp_path: Path) -> None:
    stream = _write(
        tmp_path / "e.jsonl", [{"topic": "activity", "value": {**GOOD, "user_id": "u"}}]
    )
    months = tmp_path / "m.csv"
    assert main(["replay", str(stream), "--snapshot", str(tmp_path / "s.json"),
                 "--months", str(months)]) == 0  # fmt: skip
    (header,) = months.read_text().splitlines()
    assert header.startswith("month,currency,") and header.endswith(",end_dead_letters")


def test_replay_reads_stdin(
    stream: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stream.read_bytes())))
    assert main(["replay", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["events"] == 2


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({}, ["replay", "/no/such/file.jsonl"], "no such file: /no/such/file.jsonl"),
        ({"GROWTH_FX_RATES": "not json"}, ["replay", "EVENTS"], "bad setting GROWTH_FX_RATES"),
        ({"GROWTH_WINDOW_DAYS": "abc"}, ["replay", "EVENTS"], "bad setting GROWTH_WINDOW_DAYS"),
        (
            {"GROWTH_REPORTING_CURRENCY": "EUR", "GROWTH_FX_RATES": README_RATES},
            ["demo", "--accounts", "5", "--days", "5"],
            "bad settings: GROWTH_FX_RATES gives EUR, the reporting currency",
        ),
        (
            {"GROWTH_REPORTING_CURRENCY": "EUR"},
            ["demo", "--accounts", "5", "--days", "5"],
            "the demo's rates are in USD",
        ),
        ({}, ["replay", "DIR"], "is a directory"),
    ],
)
def test_user_errors_exit_2_with_one_line(
    env: dict[str, str], args: list[str], message: str, stream: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = [str(stream) if a == "EVENTS" else str(tmp_path) if a == "DIR" else a for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("growthstream: ") and message in err and "\n" not in err


def test_demo_writes_the_configured_topic_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GROWTH_TOPIC_ACTIVITY", "product-activity")
    monkeypatch.setenv("GROWTH_TOPIC_PAYMENTS", "billing-payments")
    out = tmp_path / "demo.jsonl"
    assert main(["demo", "--accounts", "20", "--days", "30", "--out", str(out)]) == 0
    topics = {json.loads(line)["topic"] for line in out.read_text().splitlines()}
    assert topics == {"signups", "billing-payments", "cancellations", "product-activity", "surveys"}
    shown = capsys.readouterr().out
    monkeypatch.setenv("GROWTH_FX_RATES", '{"USD": 1, "EUR": 1.08, "GBP": 1.27}')
    assert main(["replay", str(out), "--snapshot", str(tmp_path / "s.json")]) == 0
    assert f"{json.loads((tmp_path / 's.json').read_text())['mrr']:,.2f}" in shown


def test_demo_is_deterministic_and_its_stream_replays_to_the_same_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert (
        main(["demo", "--seed", "3", "--accounts", "40", "--days", "60", "--out", str(first)]) == 0
    )
    shown = capsys.readouterr().out
    assert (
        main(["demo", "--seed", "3", "--accounts", "40", "--days", "60", "--out", str(second)]) == 0
    )
    assert first.read_bytes() == second.read_bytes() and "MRR" in shown
    monkeypatch.setenv("GROWTH_FX_RATES", '{"USD": 1, "EUR": 1.08, "GBP": 1.27}')
    assert main(["replay", str(first), "--snapshot", str(tmp_path / "s.json")]) == 0
    mrr = json.loads((tmp_path / "s.json").read_text())["mrr"]
    assert f"{mrr:,.2f}" in shown


def test_demo_to_kafka_warns_when_its_rates_would_dead_letter_the_worlds_currencies(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`demo --kafka` cannot see the worker's settings; its own lacking a demo currency is
    the likely mistake (README's live demo exports the rates for both)."""
    settings = demo_settings(to_kafka=True)
    assert dict(settings.fx_rates) == DEMO_FX_RATES  # its own replay still has them
    err = capsys.readouterr().err
    assert "warning: GROWTH_FX_RATES has no rate for EUR, GBP" in err
    assert f"export GROWTH_FX_RATES='{README_RATES}'" in err
    monkeypatch.setenv("GROWTH_FX_RATES", README_RATES)
    demo_settings(to_kafka=True)
    assert capsys.readouterr().err == ""


def test_demo_in_eur_with_rates_in_eur_prints_euros(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GROWTH_REPORTING_CURRENCY", "EUR")
    monkeypatch.setenv("GROWTH_FX_RATES", '{"EUR":1,"USD":0.9259,"GBP":1.1759}')
    assert main(["demo", "--accounts", "20", "--days", "30"]) == 0
    shown = capsys.readouterr().out
    assert "MRR €" in shown and "money in EUR" in shown and "$" not in shown
