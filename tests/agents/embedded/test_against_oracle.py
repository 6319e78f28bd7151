"""The engine agrees with the independent reference oracle on every figure.

`tests/reference/oracle.py` was written from METRICS.md and DECISIONS.md without
looking at `state/`: a second reading of the spec, computed by brute force.
"""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import orjson
import pytest

from agents.embedded.replay import replay_lines
from models.settings import Settings
from tests.reference.oracle import OracleConfig, oracle_snapshot
from tests.support.streams import random_stream as _stream

RATES = {"USD": Decimal(1), "EUR": Decimal("1.1")}

BAD_VALUES = [
    "not json",
    "[1, 2]",
    '{"event_id": "b", "occurred_at": "2026-01-05T00:00:00", "account_id": "a1", "user_id": "u"}',
    '{"event_id": "b", "occurred_at": "2026-01-05T00:00:00Z", "account_id": "a1"}',
    '{"event_id": "b", "occurred_at": "2026-01-05T00:00:00Z", "account_id": "a1", "user_id": "u",'
    ' "score": 11}',
]


def _lines(events: list[tuple[str, dict[str, Any]]], rng: random.Random) -> list[bytes]:
    lines = []
    for topic, value in events:
        lines.append(orjson.dumps({"topic": topic, "key": value["account_id"], "value": value}))
        if rng.random() < 0.02:
            lines.append(orjson.dumps({"topic": "activity", "value": rng.choice(BAD_VALUES)}))
        if rng.random() < 0.01:
            lines.append(b'{"topic": "nowhere", "value": {}}')
    return lines


@pytest.mark.parametrize(
    ("seed", "window", "lateness", "grace"),
    [(11, 10, 5, 14), (12, 10, 5, 3), (13, 30, 30, 14), (14, 7, 2, 0), (15, 10, 20, 5)],
)
def test_engine_matches_oracle(seed: int, window: int, lateness: int, grace: int) -> None:
    rng = random.Random(seed)
    lines = _lines(_stream(seed, length=2500), rng)
    settings = Settings(
        fx_rates=RATES, window_days=window, lateness_days=lateness, lapse_grace_days=grace,
        nps_window_days=3 * window,
    )  # fmt: skip
    config = OracleConfig(
        fx_rates=RATES, window_days=window, lateness_days=lateness, lapse_grace_days=grace,
        nps_window_days=3 * window,
    )  # fmt: skip
    engine = replay_lines(lines, settings).snapshot()
    oracle = oracle_snapshot(lines, config)
    assert engine == oracle
    assert engine["dead_letters"] and engine["duplicates"] and engine["churned_customers"]
