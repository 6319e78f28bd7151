"""The world as a whole: deterministic, lazy, the right size, and realistic.

Realism is checked on the features a SaaS business's stream has, and on the
figures the engine computes from it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal

import orjson

from agents.demo import DEMO_FX_RATES, Line, WorldSpec, generate
from agents.embedded.replay import replay_lines
from models.settings import Settings


def _dump(lines: list[Line]) -> list[bytes]:
    return [orjson.dumps(line) for line in lines]


# -- determinism -------------------------------------------------------------------------


def test_same_seed_gives_identical_lines(small: WorldSpec) -> None:
    assert _dump(list(generate(small))) == _dump(list(generate(small)))


def test_a_different_seed_gives_a_different_world(small: WorldSpec) -> None:
    other = WorldSpec(seed=small.seed + 1, accounts=small.accounts, days=small.days)
    assert _dump(list(generate(small))) != _dump(list(generate(other)))


def test_generation_is_lazy() -> None:
    lines: Iterator[Line] = generate(WorldSpec(accounts=100_000))
    assert next(lines)["topic"] == "signups"  # no work for the whole world up front


# -- realism -----------------------------------------------------------------------------


def test_the_world_has_the_features_of_a_saas_business(
    clean: list[Line],
    value_of: Callable[[Line], dict[str, object]],
    instant_of: Callable[[Line], datetime],
) -> None:
    seen: Counter[str] = Counter()
    for line in clean:
        value = value_of(line)
        stamp = str(value["occurred_at"])
        seen["offset Z" if stamp.endswith("Z") else "offset other"] += 1
        if line["topic"] == "payments":
            seen[f"currency {value['currency']}"] += 1
            seen[f"status {value.get('status', 'succeeded')}"] += 1
            seen[f"kind {value.get('kind', 'subscription')}"] += 1
            seen[f"interval {value.get('interval', 'month')}"] += 1
            seen[f"amount {type(value['amount']).__name__}"] += 1
        elif line["topic"] == "cancellations":
            effective = value.get("effective_at")
            at = instant_of(line)
            later = effective is not None and datetime.fromisoformat(str(effective)) > at
            seen["cancel at period end" if later else "cancel now"] += 1
        elif line["topic"] == "signups":
            seen[f"trial {value.get('trial', False)}"] += 1
        elif line["topic"] == "activity":
            assert re.fullmatch(r"u\d+", str(value["user_id"]))
            seen["activity"] += 1
        elif line["topic"] == "surveys":
            assert 0 <= int(str(value["score"])) <= 10
            seen["survey"] += 1
    for feature in (
        "offset Z",
        "offset other",
        "currency USD",
        "currency EUR",
        "currency GBP",
        "status succeeded",
        "status failed",
        "status refunded",
        "kind one_time",
        "interval month",
        "interval quarter",
        "interval year",
        "amount str",
        "amount int",
        "cancel now",
        "cancel at period end",
        "trial True",
        "trial False",
        "survey",
    ):
        assert seen[feature] > 0, feature
    assert seen["amount str"] > 5 * seen["amount int"], "amounts are mostly strings"
    assert seen["activity"] > 0.8 * len(clean), "activity is most of the stream"


def test_the_demo_world_gives_plausible_figures(clean: list[Line]) -> None:
    engine = replay_lines(_dump(clean), Settings(fx_rates=DEMO_FX_RATES))
    snap = engine.snapshot()

    def num(name: str) -> Decimal:
        value = snap[name]
        assert isinstance(value, Decimal | int), name
        return Decimal(value)

    assert 100 < num("paying_customers") < 400
    assert num("mrr") > 0 and 30 < num("arpa") < 1000
    for name in ("new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr"):
        assert num(name) > 0, name
    assert 0 < num("customer_churn_rate") < 15
    assert 0 < num("stickiness") < 1
    assert -50 < num("nps") < 80
    assert engine.dead_letters == 0 and engine.duplicates == 0


# -- scale -------------------------------------------------------------------------------


def test_size_of_the_default_world(world: list[tuple[str | None, Line]]) -> None:
    assert 20_000 < len(world) < 60_000


def test_a_4000_account_world_has_300k_lines() -> None:
    """Its speed is measured in `bench/demo_world.py`, not here."""
    assert sum(1 for _ in generate(WorldSpec(accounts=4000))) >= 300_000
