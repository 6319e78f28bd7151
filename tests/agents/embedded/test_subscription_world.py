"""BILLING.md's acceptance on a generated world: named subscriptions, add-ons cancelled
alone or with their account, seats and VAT; every figure of the snapshot and of every
day equals the oracle's independent computation (tests/reference), whole and in
partitions."""

from __future__ import annotations

from collections import Counter

import orjson
import pytest

from agents.demo import DEMO_FX_RATES, WorldSpec, generate
from agents.embedded.replay import replay_lines
from models.settings import Settings
from tests.reference.oracle import OracleConfig, oracle_snapshot, oracle_subscriptions
from tests.reference.oracle_series import oracle_series

SPEC = WorldSpec(seed=23, accounts=300, days=240)


def _lines() -> list[bytes]:
    return [orjson.dumps(line, default=str) for line in generate(SPEC)]


def test_the_world_has_what_billing_is_about() -> None:
    values = [orjson.loads(line)["value"] for line in _lines()]
    objects = [v for v in values if isinstance(v, dict)]
    subscriptions = Counter(
        str(v["subscription_id"]).rsplit("-", 1)[-1] for v in objects if v.get("subscription_id")
    )
    assert {"plan", "sso", "analytics", "support"} <= set(subscriptions)
    addon_cancels = [v for v in objects if "effective_at" in v and v.get("subscription_id")]
    assert len(addon_cancels) >= 3  # add-ons cancelled alone
    with_addons = {
        v["account_id"] for v in objects if str(v.get("subscription_id", "")).endswith("-plan")
    }
    account_cancels = {
        v["account_id"] for v in objects
        if "reason" in v and "subscription_id" not in v and v["account_id"] in with_addons
    }  # fmt: skip
    assert len(account_cancels) >= 2  # cancellations of an account with an add-on: both end
    assert sum(1 for v in objects if int(v.get("quantity", 1)) > 1) >= 50
    assert sum(1 for v in objects if v.get("tax_amount")) >= 100


@pytest.mark.parametrize("partitions", [1, 4])
def test_every_figure_every_day_equals_the_oracle(partitions: int) -> None:
    lines = _lines()
    settings = Settings(fx_rates=DEMO_FX_RATES, topic_partitions=partitions)
    config = OracleConfig(fx_rates=DEMO_FX_RATES, partitions=partitions)
    replay = replay_lines(lines, settings, partitions=partitions)
    snapshot = replay.snapshot()
    assert snapshot == oracle_snapshot(lines, config)
    counts = [int(str(snapshot[n])) for n in ("seats", "active_subscriptions", "paying_customers")]
    assert counts == sorted(counts, reverse=True) and len(set(counts)) == 3
    listed = {a: v.model_dump()["subscriptions"] for a, v in replay.accounts().items()}
    assert listed == oracle_subscriptions(lines, config)  # the read model's subscriptions
    series = replay.series()
    expected = oracle_series(lines, config)
    assert len(series) == len(expected) >= 190
    for got, want in zip(series, expected, strict=True):
        assert got == want, got["day"]


def test_a_world_without_billing_has_none_of_its_fields() -> None:
    spec = WorldSpec(seed=23, accounts=60, days=90, billing=False)
    values = [line["value"] for line in generate(spec)]
    fields = {"subscription_id", "quantity", "tax_amount"}
    assert not [v for v in values if isinstance(v, dict) and fields & set(v)]
