"""`growthstream stripe convert`: the named customers' Stripe history as a replay file, and
that file replayed: every customer's MRR and the months' movements as worked out by hand
(docs/STRIPE.md "Worked example"; GROWTH_FX_RATES EUR 1.08, JPY 0.0065 in USD)."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from agents.cli import main
from tests.agents.stripe.history import HISTORY_FILE

RATES = '{"USD":1,"EUR":1.08,"JPY":0.0065}'


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def converted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    out = tmp_path / "replay.jsonl"
    assert main(["stripe", "convert", str(HISTORY_FILE), str(out)]) == 0
    return out, capsys.readouterr().err


def test_convert_writes_a_replay_line_per_mapped_event(converted: tuple[Path, str]) -> None:
    out, err = converted
    lines = _lines(out)
    assert Counter(line["topic"] for line in lines) == {
        "payments": 23, "signups": 6, "cancellations": 3,
    }  # fmt: skip
    assert all(line["key"] == line["value"]["account_id"] for line in lines)
    times = [line["value"]["occurred_at"] for line in lines]
    assert times == sorted(times)  # event-time order
    assert err.strip() == (
        "read 42 Stripe events: 32 mapped to 32 events (payments 23, signups 6, cancellations "
        "3); 10 ignored (customer.subscription.updated 5, customer.subscription.created 3, "
        "invoice.paid 1, invoice.payment_succeeded 1); 0 rejected; 32 replay lines written to "
        f"{out}"
    )


def test_the_replayed_history_has_the_hand_worked_figures(
    converted: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROWTH_FX_RATES", RATES)
    out, _ = converted
    snapshot, accounts, months = tmp_path / "s.json", tmp_path / "a.jsonl", tmp_path / "m.csv"
    assert main(["replay", str(out), "--snapshot", str(snapshot), "--accounts", str(accounts),
                 "--months", str(months)]) == 0  # fmt: skip
    figures = json.loads(snapshot.read_text())
    assert figures["as_of"] == "2026-04-19T09:00:00Z"
    assert (figures["mrr"], figures["paying_customers"]) == (230.92, 4)
    assert (figures["duplicates"], figures["dead_letters"]) == (1, 0)  # the redelivery
    mrr = {row["account_id"]: (row["mrr"], row["status"]) for row in _lines(accounts)}
    assert mrr == {
        "cus_aurora": (49.0, "paying"),
        "cus_borealis": (49.0, "paying"),
        "cus_cobalt": (80.0, "paying"),
        "cus_dunmore": (52.92, "paying"),
        "cus_eastwick": (0, "churned"),
        "cus_fjord": (0, "churned"),
    }
    table = {row["month"]: row for row in csv.DictReader(io.StringIO(months.read_text()))}
    movements = ("new_mrr", "new_customers", "expansion_mrr", "contraction_mrr", "churned_mrr",
                 "churned_customers", "mrr_at_end")  # fmt: skip
    assert {month: tuple(row[m] for m in movements) for month, row in table.items()} == {
        "2026-01": ("187.09", "4", "0.00", "0.00", "0.00", "0", "187.09"),
        "2026-02": ("88.69", "2", "45.00", "0.00", "0.00", "0", "320.78"),
        "2026-03": ("0.00", "0", "0.00", "15.00", "29.00", "1", "276.78"),
        "2026-04": ("0.00", "0", "13.23", "0.00", "59.09", "1", "230.92"),
    }


def test_rejected_events_are_counted_and_written_as_dead_letters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = HISTORY_FILE.read_bytes().splitlines()[:3]
    old = orjson.loads(good[2]) | {"api_version": "2024-06-20"}
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"\n".join([*good, b"{not json", b"", orjson.dumps(old)]) + b"\n")
    out, rejected = tmp_path / "out.jsonl", tmp_path / "rejected.jsonl"
    assert main(["stripe", "convert", str(source), str(out), "--rejected", str(rejected)]) == 0
    err = capsys.readouterr().err
    assert "read 5 Stripe events: 1 mapped to 1 event (signups 1); 2 ignored" in err
    assert "; 2 rejected (not_json 1: a Stripe event: not JSON" in err
    assert "old_api_version 1: invoice.paid: api_version 2024-06-20 is older" in err
    letters = _lines(rejected)
    assert [(d["error"]["type"], d["offset"], d["key"]) for d in letters] == [
        ("stripe_not_json", 3, None),
        ("stripe_old_api_version", 5, "cus_aurora"),
    ]
    assert letters[0]["raw"] == "{not json"


def test_file_order_keeps_the_order_of_delivery(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.jsonl"
    assert main(["stripe", "convert", str(HISTORY_FILE), str(out), "--order", "file"]) == 0
    dunmore = [line["topic"] for line in _lines(out) if line["key"] == "cus_dunmore"]
    assert dunmore[:2] == ["payments", "signups"]  # its customer.created arrived last


def test_convert_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stripe", "convert", str(HISTORY_FILE), "-"]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 32
    assert captured.err.rstrip().endswith("32 replay lines written to stdout")


def test_a_missing_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stripe", "convert", "/no/such/events.jsonl", "out.jsonl"]) == 2
    assert capsys.readouterr().err.strip() == "growthstream: no such file: /no/such/events.jsonl"
