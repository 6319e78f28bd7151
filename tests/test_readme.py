"""README's live demo works as written: the worker and `demo --kafka` it starts both run with
the FX rates of every currency the demo world pays in, so no demo payment is dead-lettered
as `unknown_currency` and the dashboard shows the demo's MRR."""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
from decimal import Decimal
from pathlib import Path

import pytest

from agents.cli import main
from agents.demo import DEMO_FX_RATES
from models.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def _live_demo_block() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Live demo", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block is not None, "README's live demo has no bash block"
    return [line.split("  #", 1)[0].strip() for line in block.group(1).splitlines()]


def _exported_rates(lines: list[str], before: int) -> dict[str, Decimal] | None:
    """GROWTH_FX_RATES as exported before line `before` (or set on that line itself)."""
    rates = None
    for line in lines[: before + 1]:
        for word in shlex.split(line):
            if word.startswith("GROWTH_FX_RATES="):
                rates = json.loads(word.split("=", 1)[1], parse_float=Decimal, parse_int=Decimal)
    return rates


def test_the_live_demo_runs_worker_and_demo_with_the_demo_rates() -> None:
    lines = _live_demo_block()
    commands = {
        name: next(i for i, line in enumerate(lines) if re.search(pattern, line))
        for name, pattern in (("worker", r"growthstream worker\b"), ("demo", r"demo --kafka"))
    }
    for name, at in commands.items():
        rates = _exported_rates(lines, at)
        assert rates is not None, f"the {name} runs without GROWTH_FX_RATES"
        assert rates == DEMO_FX_RATES, name
        assert Settings(fx_rates=rates).fx_rates == DEMO_FX_RATES  # valid as written


def _worked_example() -> tuple[str, list[list[str]]]:
    """README's Stripe worked example: its rates and its month table's rows."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Stripe: a worked example", 1)[1].split("\n## ", 1)[0]
    rates = re.search(r"GROWTH_FX_RATES='([^']+)'", section)
    assert rates is not None
    table = section.split("| month |", 1)[1].split("\n\n", 1)[0].splitlines()[2:]
    return rates.group(1), [[cell.strip() for cell in row.strip("|").split("|")] for row in table]


def test_the_stripe_worked_example_is_what_the_fixtures_replay_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rates, rows = _worked_example()
    monkeypatch.setenv("GROWTH_FX_RATES", rates)
    converted, months = tmp_path / "stripe.jsonl", tmp_path / "months.csv"
    fixtures = README.parent / "tests" / "fixtures" / "stripe" / "history.jsonl"
    assert main(["stripe", "convert", str(fixtures), str(converted)]) == 0
    snapshot = tmp_path / "figures.json"
    assert (
        main(["replay", str(converted), "--snapshot", str(snapshot), "--months", str(months)]) == 0
    )
    replayed = [
        [r["month"], r["new_mrr"], r["expansion_mrr"], r["contraction_mrr"], r["churned_mrr"],
         r["mrr_at_end"]]
        for r in csv.DictReader(io.StringIO(months.read_text()))
    ]  # fmt: skip
    assert rows == replayed
    figures = json.loads(snapshot.read_text())
    assert (str(figures["mrr"]), figures["paying_customers"]) == (rows[-1][-1], 4)
