"""The engine agrees with the independent reference oracle on every figure.

`tests/reference/oracle.py` was written from METRICS.md and DECISIONS.md without
looking at `state/`: a second reading of the spec, computed by brute force.
"""

from __future__ import annotations

import random
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
import pytest

from agents.embedded.replay import replay_lines
from models.settings import Settings
from tests.reference.oracle import (
    OracleConfig,
    oracle_accounts,
    oracle_snapshot,
    oracle_subscriptions,
)
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
@pytest.mark.parametrize("billing", [False, True], ids=["one-subscription", "subscriptions"])
def test_engine_matches_oracle(
    seed: int, window: int, lateness: int, grace: int, billing: bool
) -> None:
    """Streams without BILLING.md's fields (the figures they always had) and with them."""
    rng = random.Random(seed)
    lines = _lines(_stream(seed, length=2500, subscriptions=billing), rng)
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


def _stamped(lines: list[bytes], rng: random.Random) -> list[bytes]:
    """Lines with a record `timestamp` each: most just after their event, some before it
    (a clock ahead: too far ahead by more than an hour now and then), in file order mostly."""
    out = []
    for line in lines:
        envelope = orjson.loads(line)
        value = envelope["value"]
        if isinstance(value, dict) and "occurred_at" in value:
            occurred = datetime.fromisoformat(value["occurred_at"]).timestamp() * 1000
            skew = rng.choice([5_000, 60_000, 600_000, -1_800_000, -7_200_000])
            envelope["timestamp"] = int(occurred) + skew
        out.append(orjson.dumps(envelope))
    return out


@pytest.mark.parametrize(("seed", "partitions", "stamped"), [
    (21, 2, False), (22, 3, True), (23, 4, True), (24, 8, False),
])  # fmt: skip
def test_partitioned_replay_matches_the_oracle(seed: int, partitions: int, stamped: bool) -> None:
    """`replay --partitions P`: per-partition stream time, routing by key, the merge order of
    record timestamps, the end-of-file follow; snapshot and every account's read-model row."""
    rng = random.Random(seed)
    lines = _lines(_stream(seed, length=2500), rng)
    if stamped:
        lines = _stamped(lines, rng)
    settings = Settings(fx_rates=RATES, window_days=10, lateness_days=5, nps_window_days=30)
    config = OracleConfig(
        fx_rates=RATES, window_days=10, lateness_days=5, nps_window_days=30, partitions=partitions
    )
    replay = replay_lines(lines, settings, partitions=partitions)
    assert replay.snapshot() == oracle_snapshot(lines, config)
    rows = {a: v.model_dump() for a, v in replay.accounts().items()}
    expected = oracle_accounts(lines, config)
    assert set(rows) == set(expected)
    for account_id, want in expected.items():
        got = {k: rows[account_id][k] for k in want}
        assert got == want, account_id
    subscriptions = oracle_subscriptions(lines, config)
    assert {a: row["subscriptions"] for a, row in rows.items()} == subscriptions
    assert replay.snapshot()["dead_letters"] and replay.snapshot()["duplicates"]
