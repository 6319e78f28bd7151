"""The traps: present, rare, on top of the same world, and honest about what they are.

Every trap label is checked against what the decoder and the engine make of
the line, so a label cannot claim a trap that the processor would not see.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import orjson

from agents.demo import (
    BAD_KINDS,
    DEMO_FX_RATES,
    DUPLICATE,
    LATE,
    OUT_OF_ORDER,
    TRAP_KINDS,
    Line,
    WorldSpec,
    generate_labelled,
)
from agents.embedded.replay import ReplayOutputs, replay_lines
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

Labelled = list[tuple[str | None, Line]]
ValueOf = Callable[[Line], dict[str, object]]
InstantOf = Callable[[Line], datetime]
RawOf = Callable[[Line], bytes]


def test_every_trap_kind_is_present_and_rare(world: Labelled) -> None:
    kinds = Counter(label for label, _line in world if label is not None)
    assert set(kinds) == set(TRAP_KINDS)
    share = sum(kinds.values()) / len(world)
    assert 0.005 < share < 0.03, f"traps are {share:.2%} of the lines"


def test_no_traps_when_disabled(
    clean: list[Line],
    decoder: Decoder,
    value_of: ValueOf,
    instant_of: InstantOf,
    raw_of: RawOf,
) -> None:
    labels = {label for label, _line in generate_labelled(WorldSpec(traps=False))}
    assert labels == {None}
    ids = [value_of(line)["event_id"] for line in clean]
    assert len(ids) == len(set(ids)), "no duplicates"
    instants = [instant_of(line) for line in clean]
    assert instants == sorted(instants), "no stragglers"
    for line in clean:
        assert not isinstance(decoder.decode(str(line["topic"]), raw_of(line)), Rejection), line


def test_traps_add_to_the_same_world(world: Labelled, clean: list[Line], value_of: ValueOf) -> None:
    """traps=True is the clean world plus traps: reordered and late lines are its own events."""
    kept = [value_of(line)["event_id"] for label, line in world if label in (None, OUT_OF_ORDER)]
    late = [value_of(line)["event_id"] for label, line in world if label == LATE]
    assert sorted(map(str, kept + late)) == sorted(
        str(value_of(line)["event_id"]) for line in clean
    )


def test_good_lines_are_valid_events(
    world: Labelled, decoder: Decoder, value_of: ValueOf, raw_of: RawOf
) -> None:
    for label, line in world:
        if label in BAD_KINDS:
            continue
        topic = str(line["topic"])
        value = value_of(line)
        assert REQUIRED[topic] <= value.keys(), line
        assert line["key"] == value["account_id"]
        event = decoder.decode(topic, raw_of(line))
        assert not isinstance(event, Rejection), (line, event)


def test_lines_are_in_event_time_order_apart_from_traps(
    world: Labelled, instant_of: InstantOf
) -> None:
    """Stream time W moves only on good in-order lines; each straggler is what its label says."""
    stream_time: datetime | None = None
    seen: set[bytes] = set()
    for label, line in world:
        if label in BAD_KINDS:
            continue
        at = instant_of(line)
        if label is None:
            assert stream_time is None or at >= stream_time, line
            stream_time = at
            seen.add(orjson.dumps(line))
        elif label == DUPLICATE:
            assert orjson.dumps(line) in seen, "an exact copy of an earlier line"
        else:
            assert stream_time is not None and at < stream_time, line
            assert (at < stream_time - LATENESS) == (label == LATE), (label, line)


def test_out_of_order_lines_are_hours_to_days_behind(
    world: Labelled, instant_of: InstantOf
) -> None:
    stream_time = datetime.fromisoformat("1970-01-01T00:00:00Z")
    behind: list[timedelta] = []
    for label, line in world:
        if label is None:
            stream_time = max(stream_time, instant_of(line))
        elif label == OUT_OF_ORDER:
            behind.append(stream_time - instant_of(line))
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
