"""README's live demo works as written: the worker and `demo --kafka` it starts both run with
the FX rates of every currency the demo world pays in, so no demo payment is dead-lettered
as `unknown_currency` and the dashboard shows the demo's MRR."""

from __future__ import annotations

import json
import re
import shlex
from decimal import Decimal
from pathlib import Path

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
