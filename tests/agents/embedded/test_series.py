"""`replay --series`: every day's figures as they stand at the end of that day.

Checked two independent ways: against fresh replays of each day's prefix moved to the
end of that day (a stream without late or duplicate events), and against the oracle's
brute force over the whole simulation (late events, redeliveries, partitions).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from agents.cli import main
from agents.demo import DEMO_FX_RATES, WorldSpec, generate
from agents.embedded.replay import replay_lines
from models.settings import Settings
from state.clock import US_PER_DAY
from tests.reference.oracle import OracleConfig
from tests.reference.oracle_series import oracle_series
from tests.support.streams import RANDOM_CONFIG, random_stream

C = RANDOM_CONFIG
SETTINGS = Settings(
    fx_rates=dict(C.fx_rates), window_days=C.window_days, lateness_days=C.lateness_days
)


def _lines(events: list[tuple[str, dict[str, Any]]]) -> list[bytes]:
    return [orjson.dumps({"topic": t, "key": v["account_id"], "value": v}) for t, v in events]


def _without_copies(events: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for topic, value in events:
        key = (value["event_id"], value["account_id"])
        if key not in seen:
            seen.add(key)
            kept.append((topic, value))
    return kept


@pytest.mark.parametrize("seed", [31, 32])
def test_each_day_is_a_fresh_replay_of_its_prefix_moved_to_its_end(seed: int) -> None:
    events = _without_copies(random_stream(seed, 1200, in_order=True))
    lines = _lines(events)
    whole = replay_lines(lines, SETTINGS)
    series = whole.series()
    now = whole.engine.stream_time
    assert now is not None
    days = [str(row["day"]) for row in series]
    assert len(days) >= 40 and days == sorted(days) and len(set(days)) == len(days)
    dated = [str(v["occurred_at"])[:10] for _, v in events]
    for row in series:
        day = str(row["day"])
        prefix = [line for line, when in zip(lines, dated, strict=True) if when <= day]
        replay = replay_lines(prefix, SETTINGS)
        # moved to the end of the day; today's row is the snapshot: as it stands now
        replay.engine.advance_to(min((_day_index(day) + 1) * US_PER_DAY - 1, now))
        expected = replay.snapshot()
        del expected["as_of"]
        assert row == expected, day


def _day_index(day: str) -> int:
    return (date.fromisoformat(day) - date(1970, 1, 1)).days


@pytest.mark.parametrize("partitions", [None, 3])
@pytest.mark.parametrize("seed", [41, 42, 43])
def test_the_series_of_a_late_stream_matches_the_oracle(seed: int, partitions: int | None) -> None:
    lines = _lines(random_stream(seed, 2500))
    config = OracleConfig(
        fx_rates=dict(C.fx_rates), window_days=C.window_days, lateness_days=C.lateness_days,
        partitions=partitions or 1,
    )  # fmt: skip
    series = replay_lines(lines, SETTINGS, partitions=partitions).series()
    expected = oracle_series(lines, config)
    assert len(series) == len(expected) >= 90
    for got, want in zip(series, expected, strict=True):
        assert got == want, got["day"]


def test_a_two_year_world_has_a_row_for_every_day_ending_at_the_snapshot(tmp_path: Path) -> None:
    stream = tmp_path / "world.jsonl"
    stream.write_bytes(
        b"".join(orjson.dumps(line, default=str) + b"\n" for line in generate(WorldSpec(days=730)))
    )
    out, snapshot = tmp_path / "series.jsonl", tmp_path / "snapshot.json"
    rates = json.dumps({k: str(v) for k, v in DEMO_FX_RATES.items()})
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GROWTH_FX_RATES", rates)
        code = main(["replay", str(stream), "--snapshot", str(snapshot), "--series", str(out)])
    assert code == 0
    rows = [json.loads(line, parse_float=Decimal) for line in out.read_text().splitlines()]
    assert len(rows) >= 720
    final = json.loads(snapshot.read_text(), parse_float=Decimal)
    del final["as_of"]
    assert rows[-1] == final
    assert list(rows[0]) == ["day", "currency", *[k for k in final if k not in ("day", "currency")]]
    assert sum(1 for r in rows if r["dau"]) >= 700  # a full DAU line, not one day
    assert rows[0]["day"] < rows[-1]["day"]
