"""Terms fence the checkpoint table: a restore trusts the highest term with a redo head,
so a worker that lost its partition cannot mix its late writes into the new owner's."""

from __future__ import annotations

import tracemalloc

import orjson
import pytest

from agents.worker import checkpoints as part
from models.decode import Decoder, Rejection
from models.settings import Settings
from state.codec import engine_to_json
from tests.support.streams import RANDOM_CONFIG, random_stream

SETTINGS = Settings(fx_rates=dict(RANDOM_CONFIG.fx_rates))
Table = dict[bytes, bytes]
Messages = list[tuple[str, bytes]]


def _messages(seed: int, length: int) -> Messages:
    return [(topic, orjson.dumps(value)) for topic, value in random_stream(seed, length)]


def _write_to(table: Table) -> part.Write:
    def write(key: bytes, value: bytes | None) -> None:
        if value is None:
            table.pop(key, None)
        else:
            table[key] = value

    return write


def _feed(state: part.PartitionState, messages: Messages, start: int, stop: int) -> None:
    decoder = Decoder(SETTINGS)
    for offset in range(start, stop):
        topic, raw = messages[offset]
        if state.already_applied(topic, offset):
            continue
        event = decoder.decode(topic, raw)
        state.applied(topic, offset, None)
        if isinstance(event, Rejection):
            state.engine.reject(event)
        else:
            state.engine.apply(event)


def _straight(messages: Messages, stop: int) -> dict[str, object]:
    state = part.restore(0, RANDOM_CONFIG, {})
    _feed(state, messages, 0, stop)
    return engine_to_json(state.engine)


def _checkpointed(messages: Messages, stop: int) -> tuple[Table, part.PartitionState]:
    """A first owner that applied `messages[:stop]` and checkpointed them into a new table."""
    table: Table = {}
    state = part.restore(0, RANDOM_CONFIG, table)
    _feed(state, messages, 0, stop)
    part.write_checkpoint(state, _write_to(table))
    return table, state


def _terms(table: Table) -> set[str]:
    return {key.decode().split(".")[0] for key in table}


def test_a_zombie_writing_after_the_new_owner_restored_changes_nothing() -> None:
    messages = _messages(4, 900)
    table, zombie = _checkpointed(messages, 300)
    owner = part.restore(0, RANDOM_CONFIG, table)
    assert (zombie.term, owner.term) == ((0, 1), (0, 2))
    _feed(zombie, messages, 300, 600)  # the old owner goes on, unaware it lost the partition
    _feed(owner, messages, 300, 500)
    part.write_checkpoint(owner, _write_to(table))
    part.write_checkpoint(zombie, _write_to(table))  # lands after the new owner's
    _feed(owner, messages, 500, 700)
    part.write_checkpoint(owner, _write_to(table))
    part.write_checkpoint(zombie, _write_to(table))
    restored = part.restore(0, RANDOM_CONFIG, table)
    assert restored.term == (0, 3)
    assert restored.offsets == owner.offsets
    assert engine_to_json(restored.engine) == _straight(messages, 700)


def test_a_new_terms_first_checkpoint_deletes_the_earlier_terms() -> None:
    messages = _messages(5, 400)
    table, _ = _checkpointed(messages, 200)
    second = part.restore(0, RANDOM_CONFIG, table)
    assert _terms(table) == {"0:T0-1"}
    _feed(second, messages, 200, 400)
    part.write_checkpoint(second, _write_to(table))
    assert _terms(table) == {"0:T0-2"}
    assert engine_to_json(part.restore(0, RANDOM_CONFIG, table).engine) == _straight(messages, 400)


@pytest.mark.parametrize("after_head", [-20, -5, 0, 1, 2, 7])
def test_a_crash_in_a_terms_first_checkpoint_restores_one_term_whole(after_head: int) -> None:
    """Cut before the new term's redo head: the previous term, whole; after it: the
    new term, completed from its redo entry."""
    messages = _messages(6, 500)
    table, first = _checkpointed(messages, 250)
    second = part.restore(0, RANDOM_CONFIG, table)
    _feed(second, messages, 250, 500)
    part.CHUNK_BYTES, saved = 256, part.CHUNK_BYTES  # a redo entry of many chunks
    try:
        writes: list[tuple[bytes, bytes | None]] = []
        part.write_checkpoint(second, lambda key, value: writes.append((key, value)))
    finally:
        part.CHUNK_BYTES = saved
    head = next(i for i, (key, _) in enumerate(writes) if key == part.table_key(0, (0, 2), "redo"))
    assert head > 20
    for key, value in writes[: head + after_head]:
        _write_to(table)(key, value)
    third = part.restore(0, RANDOM_CONFIG, table)
    assert third.term == (0, 3)
    stop = 250 if after_head <= 0 else 500
    assert engine_to_json(third.engine) == _straight(messages, stop)
    assert third.offsets == (first if after_head <= 0 else second).offsets


def test_untermed_record_checkpoints_are_read_as_term_0() -> None:
    messages = _messages(9, 300)
    table, state = _checkpointed(messages, 300)
    untermed = {key.replace(b"0:T0-1.", b"0:"): value for key, value in table.items()}
    restored = part.restore(0, RANDOM_CONFIG, untermed)
    assert restored.term == (0, 1) and restored.offsets == state.offsets
    assert engine_to_json(restored.engine) == _straight(messages, 300)


def test_a_checkpoint_not_acknowledged_starts_a_term_that_leaves_none_of_it() -> None:
    messages = _messages(7, 600)
    table, state = _checkpointed(messages, 200)
    _feed(state, messages, 200, 400)
    lost: list[tuple[bytes, bytes | None]] = []
    part.write_checkpoint(state, lambda key, value: lost.append((key, value)))
    for key, value in lost[: len(lost) // 2]:  # some of it reached the changelog
        _write_to(table)(key, value)
    state.begin_term([*table, *(key for key, _ in lost)])
    _feed(state, messages, 400, 600)
    part.write_checkpoint(state, _write_to(table))
    assert _terms(table) == {"0:T0-2"}
    assert engine_to_json(part.restore(0, RANDOM_CONFIG, table).engine) == _straight(messages, 600)


def test_checkpoints_without_terms_are_read_and_replaced() -> None:
    messages = _messages(8, 300)
    state = part.restore(0, RANDOM_CONFIG, {})
    _feed(state, messages, 0, 300)
    blob = orjson.dumps(engine_to_json(state.engine))
    head = {"generation": 4, "chunks": 1, "offsets": state.offsets, "bytes": len(blob)}
    table: Table = {b"0:head": orjson.dumps(head), b"0:4:0": blob}
    restored = part.restore(0, RANDOM_CONFIG, table)
    assert restored.term == (0, 1) and restored.write_all and restored.offsets == state.offsets
    part.write_checkpoint(restored, _write_to(table))
    assert _terms(table) == {"0:T0-1"}
    again = part.restore(0, RANDOM_CONFIG, table)
    assert engine_to_json(again.engine) == _straight(messages, 300)


def test_record_values_are_stored_at_their_own_size() -> None:
    """orjson hands out its 4 KB buffer with every result; a checkpoint keeps tens of
    thousands of values until the broker acknowledged them."""
    state = part.restore(0, RANDOM_CONFIG, {})
    _feed(state, _messages(10, 400), 0, 400)
    table: Table = {}
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        part.write_checkpoint(state, _write_to(table))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    redo = sum(len(value) for key, value in table.items() if b".redo" in key)
    records = sum(1 for key in table if b".redo" not in key)
    assert records > 50
    assert (held - redo) / records < 400  # key, value and the table's slot


def test_owners_of_successive_generations_never_share_a_term() -> None:
    """B restores in generation 5 and loses the partition before its first checkpoint is
    out; C restores in generation 6 from the same table, so B's late full write, which
    lands after C's checkpoint, is of a lower term."""
    messages = _messages(11, 600)
    table, _ = _checkpointed(messages, 200)
    zombie = part.restore(0, RANDOM_CONFIG, table, generation=5)
    owner = part.restore(0, RANDOM_CONFIG, table, generation=6)
    assert (zombie.term, owner.term) == ((5, 0), (6, 0))
    _feed(zombie, messages, 200, 500)
    _feed(owner, messages, 200, 400)
    part.write_checkpoint(owner, _write_to(table))
    part.write_checkpoint(zombie, _write_to(table))
    restored = part.restore(0, RANDOM_CONFIG, table, generation=7)
    assert restored.term == (7, 0) and restored.offsets == owner.offsets
    assert engine_to_json(restored.engine) == _straight(messages, 400)


@pytest.mark.parametrize(
    ("generation", "term"),
    [
        (9, (9, 0)),  # a later generation: its own term
        (4, (4, 1)),  # the same generation again: one count above
        (2, (4, 1)),  # a group whose generations started again: still above the table's
    ],
)
def test_a_restore_takes_its_generation_unless_the_table_holds_a_higher_term(
    generation: int, term: part.Term
) -> None:
    messages = _messages(12, 100)
    table: Table = {}
    first = part.restore(0, RANDOM_CONFIG, table, generation=4)
    _feed(first, messages, 0, 100)
    part.write_checkpoint(first, _write_to(table))
    assert part.restore(0, RANDOM_CONFIG, table, generation=generation).term == term


def test_a_term_begun_after_a_failed_checkpoint_counts_up_within_its_generation() -> None:
    state = part.restore(0, RANDOM_CONFIG, {}, generation=3)
    state.begin_term([])
    assert state.term == (3, 1)
