"""`replay --months` and `--cohorts` agree with the oracle's brute force, in one stream and
in partitions, late events included; on a two-year world the bridge holds every month."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest

from agents.demo import DEMO_FX_RATES, WorldSpec, generate
from agents.embedded.replay import Replay, replay_lines
from models.outputs import CohortRow, MonthRow
from models.settings import Settings
from tests.reference.oracle import OracleConfig, oracle_timelines
from tests.reference.oracle_months import oracle_cohorts, oracle_months
from tests.support.streams import RANDOM_CONFIG, random_stream

Row = dict[str, Any]


def _text(row: MonthRow | CohortRow) -> Row:
    """A row as the oracle writes it: money and percentages as text, no currency."""
    return {
        k: str(v) if isinstance(v, Decimal) else v
        for k, v in row.model_dump().items()
        if k != "currency"
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
