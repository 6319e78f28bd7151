"""A checkpointed engine, restored, goes on exactly as if it had never stopped."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from models.decode import Decoder, Rejection
from models.settings import Settings
from state.codec import engine_from_json, engine_to_json, partial_from_json, partial_to_json
from state.engine import Engine
from state.figures import figures_at
from tests.state.streams import active, cancel, pay, signup, survey

SETTINGS = Settings(fx_rates={"USD": 1, "EUR": "1.1"}, window_days=10, lateness_days=5)


def _stream(
    seed: int, length: int = 1500, *, in_order: bool = False
) -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(seed)
    events = []
    for i in range(length):
        day = i / 25 + (0 if in_order else rng.uniform(-2, 0))  # ~60 days
        account = f"a{rng.randrange(30)}"
        kind = rng.random()
        if kind < 0.5:
            events.append(active(account, f"u{rng.randrange(5)}", day))
        elif kind < 0.7:
            amount = rng.choice(["0", "19.99", "49", "99.5", "250"])
            events.append(
                pay(
                    account,
                    day,
                    amount,
                    currency=rng.choice(["USD", "EUR"]),
                    interval=rng.choice(["month", "week", "year"]),
                    status=rng.choice(["succeeded"] * 5 + ["failed"]),
                )
            )
        elif kind < 0.8:
            events.append(cancel(account, day, effective_day=day + rng.choice([0, 0, 3, 12])))
        elif kind < 0.9:
            events.append(survey(account, f"u{rng.randrange(5)}", day, rng.randrange(11)))
        else:
            events.append(signup(account, day))
        if rng.random() < 0.03:
            back = 20 if in_order else len(events)
            events.append(events[rng.randrange(max(0, len(events) - back), len(events))])
    return events


def _feed(engine: Engine, events: list[tuple[str, dict[str, Any]]]) -> None:
    decoder = Decoder(SETTINGS)
    for topic, value in events:
        decoded = decoder.decode(topic, orjson.dumps(value))
        assert not isinstance(decoded, Rejection)
        engine.apply(decoded)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_checkpoint_restore_continues_exactly(seed: int) -> None:
    events = _stream(seed)
    straight = Engine(SETTINGS)
    _feed(straight, events)

    for cut in (1, len(events) // 3, len(events) // 2, len(events) - 1):
        first = Engine(SETTINGS)
        _feed(first, events[:cut])
        restored = engine_from_json(SETTINGS, orjson.loads(orjson.dumps(engine_to_json(first))))
        assert restored.snapshot() == first.snapshot()
        _feed(restored, events[cut:])
        assert restored.snapshot() == straight.snapshot()
        assert engine_to_json(restored) == engine_to_json(straight)
    assert straight.snapshot()["churned_customers"] > 0  # the stream exercises churn


@pytest.mark.parametrize("seed", [4, 5, 6, 7, 8])
def test_partials_add_up_across_partitions(seed: int) -> None:
    """Partitions' partial states, combined at the global day, give the single-stream figures.

    The stream is in event-time order (redeliveries aside): METRICS.md gives each
    partition its own stream time, so with out-of-order events "late" and timer
    firings may legitimately depend on how partitions interleave (docs/DECISIONS.md).
    """
    events = _stream(seed, in_order=True)
    whole = Engine(SETTINGS)
    _feed(whole, events)
    parts = [Engine(SETTINGS) for _ in range(3)]
    for event in events:
        _feed(parts[int(event[1]["account_id"][1:]) % 3], [event])
    assert whole.stream_time is not None
    for part in parts:  # the aggregator's tick: every partition at the global stream time
        part.advance_to(whole.stream_time)
    decoded = [
        partial_from_json(orjson.loads(orjson.dumps(partial_to_json(p.partial(), p.stream_time))))
        for p in parts
    ]
    assert [t for _, t in decoded] == [whole.stream_time] * 3
    assert figures_at([p for p, _ in decoded], whole.day, whole.windows) == whole.figures()
    assert whole.figures()["churned_customers"] and whole.figures()["duplicates"]
