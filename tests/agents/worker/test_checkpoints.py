"""Crash anywhere, restore from the checkpoint table, redeliver: exactly the same state."""

from __future__ import annotations

import random

import orjson
import pytest

from agents.worker import checkpoints as part
from models.decode import Decoder, Rejection
from models.settings import Settings
from state.codec import engine_to_json
from state.config import EngineConfig
from state.engine import Engine
from tests.support.streams import RANDOM_CONFIG, random_stream

SETTINGS = Settings(fx_rates=dict(RANDOM_CONFIG.fx_rates))


class CrashMidCheckpoint(Exception):
    pass


class _FailingAfter:
    """A changelog writer that dies after `budget` writes (a crash mid-checkpoint)."""

    def __init__(self, budget: int, write: part.Write) -> None:
        self.budget, self.write = budget, write

    def __call__(self, key: bytes, value: bytes | None) -> None:
        if self.budget <= 0:
            raise CrashMidCheckpoint
        self.budget -= 1
        self.write(key, value)


def _run_with_crashes(messages: list[tuple[str, bytes]], config: EngineConfig, seed: int) -> Engine:
    rng = random.Random(seed)
    decoder = Decoder(SETTINGS)
    store: dict[bytes, bytes] = {}
    committed = 0  # next offset the consumer group would redeliver from

    def durable_write(key: bytes, value: bytes | None) -> None:
        if value is None:
            store.pop(key, None)
        else:
            store[key] = value

    state = part.restore(0, config, store)
    offset = committed
    crashes = 0
    mid_checkpoint = [0]
    while offset < len(messages):
        topic, raw = messages[offset]
        if not state.already_applied(topic, offset):
            event = decoder.decode(topic, raw)
            state.applied(topic, offset, None)
            if not isinstance(event, Rejection):
                state.engine.apply(event)
            else:
                state.engine.reject(event)
        offset += 1
        roll = rng.random()
        if roll < 0.02:  # checkpoint, then ack what it covers
            covered = part.write_checkpoint(state, durable_write)
            if covered:
                committed = max(committed, *covered.values())
        elif roll < 0.025:  # crash anywhere in a checkpoint: after any number of its writes
            partial_write = _FailingAfter(rng.randrange(40), durable_write)
            part.CHUNK_BYTES, saved = 64, part.CHUNK_BYTES  # a redo entry of many chunks
            try:
                part.write_checkpoint(state, partial_write)  # complete: the crash comes after
            except CrashMidCheckpoint:
                mid_checkpoint[0] += 1
            finally:
                part.CHUNK_BYTES = saved
            state, offset, crashes = part.restore(0, config, store), committed, crashes + 1
        elif roll < 0.03:  # plain crash: everything since the last checkpoint is lost
            state, offset, crashes = part.restore(0, config, store), committed, crashes + 1
    assert crashes > 3 and mid_checkpoint[0] > 0
    return state.engine


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_recovery_from_checkpoints_is_exact(seed: int) -> None:
    events = random_stream(seed, length=1200)
    messages = [(topic, orjson.dumps(value)) for topic, value in events]
    messages.insert(17, ("activity", b"not json"))
    straight = Engine(RANDOM_CONFIG)
    decoder = Decoder(SETTINGS)
    for topic, raw in messages:
        event = decoder.decode(topic, raw)
        if isinstance(event, Rejection):
            straight.reject(event)
        else:
            straight.apply(event)
    recovered = _run_with_crashes(messages, RANDOM_CONFIG, seed)
    assert recovered.snapshot() == straight.snapshot()
    assert engine_to_json(recovered) == engine_to_json(straight)


def test_restore_without_checkpoint_is_fresh() -> None:
    state = part.restore(3, EngineConfig(), {})
    assert state.partition == 3 and state.engine.events == 0 and state.offsets == {}
