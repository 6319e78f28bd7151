"""The synthetic world: deterministic, realistic, ordered like a bus, and honest about its traps.

Every trap label is checked against what the decoder and the engine make of
the line, so a label cannot claim a trap that the processor would not see.
"""

from __future__ import annotations

import io
import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from agents.replay import ReplayOutputs, replay_lines
from agents.synthetic import (
    BAD_KINDS,
    DEMO_FX_RATES,
    DUPLICATE,
    LATE,
    OUT_OF_ORDER,
    TRAP_KINDS,
    Line,
    WorldSpec,
    generate,
    generate_labelled,
    write_jsonl,
)
from models.decode import Decoder, Rejection
from models.settings import Settings

LATENESS = timedelta(days=30)
REQUIRED = {
    "signups": {"event_id", "occurred_at", "account_id"},
    "payments": {"event_id", "occurred_at", "account_id", "amount", "currency"},
    "cancellations": {"event_id", "occurred_at", "account_id"},
    "activity": {"event_id", "occurred_at", "account_id", "user_id"},
    "surveys": {"event_id", "occurred_at", "account_id", "user_id", "score"},
}
SMALL = WorldSpec(seed=11, accounts=60, days=60)

Labelled = list[tuple[str | None, Line]]


@pytest.fixture(scope="module")
def world() -> Labelled:
    """The default world (400 accounts, 180 days), with its trap labels."""
    return list(generate_labelled(WorldSpec()))


@pytest.fixture(scope="module")
def clean() -> list[Line]:
    return list(generate(WorldSpec(traps=False)))


@pytest.fixture(scope="module")
def decoder() -> Decoder:
    return Decoder(Settings(fx_rates=DEMO_FX_RATES))


def _dump(lines: list[Line]) -> list[bytes]:
    return [orjson.dumps(line) for line in lines]


def _value(line: Line) -> dict[str, object]:
    value = line["value"]
    assert isinstance(value, dict)
    return value


def _instant(line: Line) -> datetime:
    return datetime.fromisoformat(str(_value(line)["occurred_at"]))


def _raw(line: Line) -> bytes:
    value = line["value"]
    return value.encode() if isinstance(value, str) else orjson.dumps(value)


# -- determinism -------------------------------------------------------------------------


def test_same_seed_gives_identical_lines() -> None:
    assert _dump(list(generate(SMALL))) == _dump(list(generate(SMALL)))


def test_a_different_seed_gives_a_different_world() -> None:
    other = WorldSpec(seed=SMALL.seed + 1, accounts=SMALL.accounts, days=SMALL.days)
    assert _dump(list(generate(SMALL))) != _dump(list(generate(other)))


def test_generation_is_lazy() -> None:
    lines: Iterator[Line] = generate(WorldSpec(accounts=100_000))
    assert next(lines)["topic"] == "signups"  # no work for the whole world up front


def test_spec_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        WorldSpec(days=0)
    with pytest.raises(ValueError):
        WorldSpec(accounts=-1)


# -- traps -------------------------------------------------------------------------------


def test_every_trap_kind_is_present_and_rare(world: Labelled) -> None:
    kinds = Counter(label for label, _line in world if label is not None)
    assert set(kinds) == set(TRAP_KINDS)
    share = sum(kinds.values()) / len(world)
    assert 0.005 < share < 0.03, f"traps are {share:.2%} of the lines"


def test_no_traps_when_disabled(clean: list[Line], decoder: Decoder) -> None:
    labels = {label for label, _line in generate_labelled(WorldSpec(traps=False))}
    assert labels == {None}
    ids = [_value(line)["event_id"] for line in clean]
    assert len(ids) == len(set(ids)), "no duplicates"
    instants = [_instant(line) for line in clean]
    assert instants == sorted(instants), "no stragglers"
    for line in clean:
        assert not isinstance(decoder.decode(str(line["topic"]), _raw(line)), Rejection), line


def test_traps_add_to_the_same_world(world: Labelled, clean: list[Line]) -> None:
    """traps=True is the clean world plus traps: reordered and late lines are its own events."""
    kept = [_value(line)["event_id"] for label, line in world if label in (None, OUT_OF_ORDER)]
    late = [_value(line)["event_id"] for label, line in world if label == LATE]
    assert sorted(map(str, kept + late)) == sorted(str(_value(line)["event_id"]) for line in clean)


def test_good_lines_are_valid_events(world: Labelled, decoder: Decoder) -> None:
    for label, line in world:
        if label in BAD_KINDS:
            continue
        topic = str(line["topic"])
        value = _value(line)
        assert REQUIRED[topic] <= value.keys(), line
        assert line["key"] == value["account_id"]
        event = decoder.decode(topic, _raw(line))
        assert not isinstance(event, Rejection), (line, event)


def test_each_bad_message_is_rejected_for_its_reason(world: Labelled, decoder: Decoder) -> None:
    for label, line in world:
        if label in BAD_KINDS:
            assert isinstance(line["value"], str), "bad messages travel as raw text"
            rejection = decoder.decode(str(line["topic"]), _raw(line))
            assert isinstance(rejection, Rejection), line
            assert rejection.type == label, (line, rejection)


def test_lines_are_in_event_time_order_apart_from_traps(world: Labelled) -> None:
    """Stream time W moves only on good in-order lines; each straggler is what its label says."""
    stream_time: datetime | None = None
    seen: set[bytes] = set()
    for label, line in world:
        if label in BAD_KINDS:
            continue
        at = _instant(line)
        if label is None:
            assert stream_time is None or at >= stream_time, line
            stream_time = at
            seen.add(orjson.dumps(line))
        elif label == DUPLICATE:
            assert orjson.dumps(line) in seen, "an exact copy of an earlier line"
        else:
            assert stream_time is not None and at < stream_time, line
            assert (at < stream_time - LATENESS) == (label == LATE), (label, line)


def test_out_of_order_lines_are_hours_to_days_behind(world: Labelled) -> None:
    stream_time = datetime.fromisoformat("1970-01-01T00:00:00Z")
    behind: list[timedelta] = []
    for label, line in world:
        if label is None:
            stream_time = max(stream_time, _instant(line))
        elif label == OUT_OF_ORDER:
            behind.append(stream_time - _instant(line))
    assert max(behind) <= timedelta(days=11)
    assert min(behind) < timedelta(days=1) < max(behind)


def test_the_engine_sees_exactly_the_labelled_traps(world: Labelled) -> None:
    outputs = ReplayOutputs()
    engine = replay_lines(
        [orjson.dumps(line) for _label, line in world],
        Settings(fx_rates=DEMO_FX_RATES),
        outputs,
    )
    kinds = Counter(label for label, _line in world if label is not None)
    assert engine.duplicates == kinds[DUPLICATE]
    assert outputs.dead_letter_reasons == {k: kinds[k] for k in (*BAD_KINDS, LATE)}
    assert engine.events == len(world) - engine.duplicates - engine.dead_letters


# -- realism -----------------------------------------------------------------------------


def test_the_world_has_the_features_of_a_saas_business(clean: list[Line]) -> None:
    seen: Counter[str] = Counter()
    for line in clean:
        value = _value(line)
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
            at = _instant(line)
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


def test_subscriptions_move_every_way(clean: list[Line]) -> None:
    """Upgrades, downgrades (some by half or more), renewals on the period's end, withdrawals."""
    last: dict[str, Decimal] = {}
    cancelled_until: dict[str, datetime] = {}
    seen: Counter[str] = Counter()
    for line in clean:
        value, account = _value(line), str(_value(line)["account_id"])
        if line["topic"] == "cancellations" and "effective_at" in value:
            cancelled_until[account] = datetime.fromisoformat(str(value["effective_at"]))
        if line["topic"] != "payments" or value.get("status", "succeeded") != "succeeded":
            continue
        if value.get("kind", "subscription") != "subscription":
            continue
        amount = Decimal(str(value["amount"]))
        before = last.get(account)
        if before is not None and amount > before:
            seen["upgrade"] += 1
        elif before is not None and amount < before:
            seen["downgrade >= 50 %" if amount * 2 <= before else "downgrade"] += 1
        until = cancelled_until.pop(account, None)
        if until is not None and _instant(line) < until:
            seen["withdrawn"] += 1
        last[account] = amount
    for feature in ("upgrade", "downgrade", "downgrade >= 50 %", "withdrawn"):
        assert seen[feature] > 0, feature


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


# -- scale and output --------------------------------------------------------------------


def test_size_of_the_default_world(world: Labelled) -> None:
    assert 20_000 < len(world) < 60_000


def test_a_4000_account_world_has_300k_lines_in_seconds() -> None:
    started = time.perf_counter()
    count = sum(1 for _ in generate(WorldSpec(accounts=4000)))
    elapsed = time.perf_counter() - started
    assert count >= 300_000
    assert elapsed < 30, f"{count} lines took {elapsed:.1f}s"


def test_write_jsonl_to_a_path_and_to_streams(tmp_path: Path) -> None:
    lines = list(generate(SMALL))
    path = tmp_path / "world.jsonl"
    assert write_jsonl(lines, path) == len(lines)
    assert write_jsonl(lines, str(path)) == len(lines)
    binary, text = io.BytesIO(), io.StringIO()
    assert write_jsonl(iter(lines), binary) == len(lines)
    assert write_jsonl(lines, text) == len(lines)
    written = path.read_bytes()
    assert written == binary.getvalue() == text.getvalue().encode()
    assert [orjson.loads(row) for row in written.splitlines()] == lines
    assert write_jsonl([], io.BytesIO()) == 0
