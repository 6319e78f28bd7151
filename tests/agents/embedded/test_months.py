"""`replay --months` and `--cohorts` agree with the oracle's brute force, in one stream and
in partitions, late events included; on a two-year world the bridge holds every month; each
month's end columns are `replay --series`'s row of the month's last day."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from agents.cli import main
from agents.demo import DEMO_FX_RATES, WorldSpec, generate
from agents.embedded.replay import Replay, replay_lines
from models.settings import Settings
from models.tables import CohortRow, MonthRow
from state.figures import FIGURES
from tests.reference.oracle import OracleConfig, oracle_timelines
from tests.reference.oracle_months import oracle_cohorts, oracle_months
from tests.support.streams import RANDOM_CONFIG, random_stream

Row = dict[str, Any]


def _text(row: MonthRow | CohortRow) -> Row:
    """A row as the oracle writes it: money and percentages as text, no currency (nor the
    month-end figures, which are the series': checked against `replay --series` below)."""
    return {
        k: str(v) if isinstance(v, Decimal) else v
        for k, v in row.model_dump().items()
        if k not in ("currency", "at_end")
    }


def _lines(events: list[tuple[str, dict[str, Any]]]) -> list[bytes]:
    return [orjson.dumps({"topic": t, "key": v["account_id"], "value": v}) for t, v in events]


def _oracle(lines: list[bytes], config: OracleConfig) -> tuple[list[Row], list[Row]]:
    stream_time, movements, timelines = oracle_timelines(lines, config)
    return oracle_months(stream_time, movements, timelines), oracle_cohorts(stream_time, timelines)


def _replayed(replay: Replay) -> tuple[list[Row], list[Row]]:
    return [_text(r) for r in replay.months()], [_text(r) for r in replay.cohorts()]


@pytest.mark.parametrize("partitions", [None, 3])
@pytest.mark.parametrize(("seed", "length", "in_order"), [(21, 4000, False), (22, 6000, True)])
def test_months_and_cohorts_match_the_oracle(
    seed: int, length: int, in_order: bool, partitions: int | None
) -> None:
    lines = _lines(random_stream(seed, length, in_order=in_order))
    c = RANDOM_CONFIG
    settings = Settings(
        fx_rates=dict(c.fx_rates), window_days=c.window_days, lateness_days=c.lateness_days
    )
    config = OracleConfig(
        fx_rates=dict(c.fx_rates), window_days=c.window_days, lateness_days=c.lateness_days,
        partitions=partitions or 1,
    )  # fmt: skip
    months, cohorts = _replayed(replay_lines(lines, settings, partitions=partitions))
    expected_months, expected_cohorts = _oracle(lines, config)
    assert len(months) >= 5
    assert months == expected_months
    assert cohorts == expected_cohorts


@pytest.fixture(scope="module")
def two_years() -> tuple[Replay, list[bytes]]:
    lines = [orjson.dumps(line, default=str) for line in generate(WorldSpec(seed=5, days=730))]
    return replay_lines(lines, Settings(fx_rates=DEMO_FX_RATES)), lines


def test_the_bridge_holds_for_every_month_of_a_two_year_world(
    two_years: tuple[Replay, list[bytes]],
) -> None:
    replay, _ = two_years
    rows = replay.months()
    assert len(rows) >= 24
    assert sum(r.churned_customers for r in rows) > 0 and sum(r.expansion_count for r in rows) > 0
    for before, row in zip([None, *rows], rows, strict=False):
        assert row.mrr_at_end == (
            row.mrr_at_start + row.new_mrr + row.expansion_mrr + row.reactivation_mrr
            - row.contraction_mrr - row.churned_mrr
        )  # fmt: skip
        if before is not None:
            assert row.mrr_at_start == before.mrr_at_end
            assert row.customers_at_start == before.customers_at_end
    snapshot = replay.snapshot()
    assert rows[-1].mrr_at_end == snapshot["mrr"]
    assert rows[-1].customers_at_end == snapshot["paying_customers"]


def test_a_two_year_worlds_cohorts_start_with_their_first_month(
    two_years: tuple[Replay, list[bytes]],
) -> None:
    replay, lines = two_years
    expected = _oracle(lines, OracleConfig(fx_rates=DEMO_FX_RATES))
    months, cohorts = _replayed(replay)
    assert months == expected[0]
    assert cohorts == expected[1]
    firsts = [r for r in replay.cohorts() if r.months_since == 0]
    assert len(firsts) >= 20
    assert all(r.customers_pct == 100 for r in firsts if r.customers)


def _csv_field(value: object) -> str:
    """A JSON value of `replay --series` as `replay --months` writes it in a CSV field:
    exact decimal text, null as empty."""
    if value is None:
        return ""
    return format(value, "f") if isinstance(value, Decimal) else str(value)


@pytest.mark.parametrize("partitions", [None, 4])
def test_month_end_columns_are_the_series_row_of_each_months_last_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, partitions: int | None
) -> None:
    monkeypatch.setenv("GROWTH_FX_RATES", json.dumps({k: str(v) for k, v in DEMO_FX_RATES.items()}))
    stream = tmp_path / "world.jsonl"
    spec = WorldSpec(seed=9, accounts=120, days=200)
    stream.write_bytes(b"".join(orjson.dumps(line, default=str) + b"\n" for line in generate(spec)))
    series, months = tmp_path / "series.jsonl", tmp_path / "months.csv"
    args = ["replay", str(stream), "--snapshot", str(tmp_path / "s.json"),
            "--series", str(series), "--months", str(months)]  # fmt: skip
    assert main(args + ([] if partitions is None else ["--partitions", str(partitions)])) == 0
    days = [json.loads(line, parse_float=Decimal) for line in series.read_text().splitlines()]
    last_of: dict[str, dict[str, Any]] = {}
    for row in days:  # every day in order: the last one seen of a month is its last day
        last_of[str(row["day"])[:7]] = row
    table = list(csv.DictReader(io.StringIO(months.read_text())))
    assert len(table) >= 7 and [r["month"] for r in table] == sorted(last_of)[-len(table) :]
    today = days[-1]["day"]
    for month in table:
        end = last_of[month["month"]]
        following = date.fromisoformat(end["day"]) + timedelta(days=1)
        assert following.day == 1 or end["day"] == today, month["month"]
        got = {name: month[f"end_{name}"] for name in FIGURES}
        assert got == {name: _csv_field(end[name]) for name in FIGURES}, month["month"]
        assert month["end_mrr"] == month["mrr_at_end"]
        assert month["end_paying_customers"] == month["customers_at_end"]
    assert sum(1 for r in table if r["end_nps"]) >= 3 and any(r["end_churned_mrr"] for r in table)


def test_months_before_the_kept_history_have_null_month_ends(
    two_years: tuple[Replay, list[bytes]],
) -> None:
    full, lines = two_years
    short = replay_lines(lines, Settings(fx_rates=DEMO_FX_RATES, history_days=100))
    first_kept = str(short.series()[0]["day"])
    rows, everything = short.months(), full.months()
    assert [_text(r) for r in rows] == [_text(r) for r in everything]
    kept = [r for r, whole in zip(rows, everything, strict=True) if r.at_end == whole.at_end]
    assert 3 <= len(kept) <= 4 and kept == rows[-len(kept) :]
    for row in rows[: -len(kept)]:
        assert list(row.at_end) == list(FIGURES) and set(row.at_end.values()) == {None}
        assert f"{row.month}-31" < first_kept
    assert rows[-1].at_end == {name: full.snapshot()[name] for name in FIGURES}
