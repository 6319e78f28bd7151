"""One partition's engine, the input offsets it has applied, and its checkpoints.

Recovery is exact by this discipline: an input message is acknowledged (so its
offset may be committed) only after a checkpoint that contains its effect has
been durably written to the changelog. After a crash, Kafka redelivers from the
committed offset, which is at or before the last checkpoint; messages at or
below the checkpoint's offsets are skipped, later ones applied again. Nothing is
lost and nothing is applied twice.

A checkpoint writes what changed since the last one (state/checkpoint_records.py)
as keyed records of the changelogged table, so its cost follows the change. To make
it atomic, the same records first go out as one redo entry: chunks under the new
generation, then the redo head (the commit point), then the keys one by one; the
previous generation's chunks are deleted last. A restore reads every key of the
partition and applies the redo entry of the head on top: a crash in the middle of
the keys is completed from it, a crash before the head leaves the previous
checkpoint whole. Checkpoints of earlier versions (the whole engine as JSON chunks
under `{partition}:head`) are read, and replaced by a full write of the records.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

import orjson

from state.checkpoint_records import META, Record, all_records, changed_records
from state.checkpoint_records import engine_from_records as _engine_from_records
from state.codec import engine_from_json
from state.config import EngineConfig
from state.engine import Engine

CHUNK_BYTES = 512 * 1024
"""Redo chunk size (well under a topic's default 1 MB record limit)."""
REDO: Final = "redo"
LEGACY_HEAD: Final = "head"


class Store(Protocol):
    """One partition's keys of the recovered checkpoint table (agents/worker/table_store.py)."""

    def get(self, key: bytes, /) -> bytes | None: ...

    def items(self) -> Iterable[tuple[bytes, bytes]]: ...


OutboxRecord = tuple[str, bytes | None, bytes]
"""(topic, key, value) of one output record."""

Write = Callable[[bytes, bytes | None], None]
"""Write (or, with None, delete) one checkpoint-table key in this partition's changelog."""


def table_key(partition: int, name: str) -> bytes:
    return f"{partition}:{name}".encode()


def _redo_chunk(generation: int, index: int) -> str:
    return f"{REDO}:{generation}:{index}"


@dataclass(slots=True)
class PartitionState:
    partition: int
    engine: Engine
    offsets: dict[str, int] = field(default_factory=dict)
    """Input topic -> last applied offset (checkpointed with the engine)."""
    generation: int = 0
    unsaved: int = 0
    """Messages applied since the last checkpoint (committed once it is durable)."""
    dirty_accounts: set[str] = field(default_factory=set)
    outbox: list[OutboxRecord] = field(default_factory=list)
    """Outputs of this partition's input not yet known to be delivered when the last
    checkpoint was written: sent again after a restore (at least once, never lost)."""
    obsolete: list[str] = field(default_factory=list)
    """Table keys to delete after the next checkpoint (old redo chunks, a legacy checkpoint)."""
    write_all: bool = False
    """The next checkpoint writes every record (the state came from a legacy checkpoint)."""
    carried: list[Record] = field(default_factory=list)
    """The records of the restored redo entry: the next checkpoint writes them again, as a
    crash may have kept some of them from reaching their own keys."""

    def already_applied(self, topic: str, offset: int) -> bool:
        return offset <= self.offsets.get(topic, -1)

    def applied(self, topic: str, offset: int, account_id: str | None) -> None:
        self.offsets[topic] = offset
        self.unsaved += 1
        if account_id is not None:
            self.dirty_accounts.add(account_id)


def restore(partition: int, config: EngineConfig, store: Store) -> PartitionState:
    """The partition's state from its last complete checkpoint, or a fresh one."""
    prefix = f"{partition}:"
    raw: dict[str, bytes] = {}
    for key, value in store.items():
        text = key.decode()
        if text.startswith(prefix):
            raw[text[len(prefix) :]] = value
    if REDO in raw:
        return _restore_records(partition, config, raw)
    if LEGACY_HEAD in raw:
        return _restore_legacy(partition, config, raw)
    return PartitionState(partition, Engine(config))


def _restore_records(partition: int, config: EngineConfig, raw: dict[str, bytes]) -> PartitionState:
    head = orjson.loads(raw.pop(REDO))
    chunks = [_redo_chunk(head["generation"], i) for i in range(head["chunks"])]
    redo = orjson.loads(b"".join(raw[c] for c in chunks))
    records: dict[str, Any] = {}
    obsolete = []
    for name, value in raw.items():
        if name.startswith(f"{REDO}:"):
            if name not in chunks:
                obsolete.append(name)  # of a checkpoint that did not reach its head
        elif name == LEGACY_HEAD or name[:1].isdigit():
            obsolete.append(name)  # a legacy checkpoint not yet deleted
        else:
            records[name] = orjson.loads(value)
    for name, value in redo:
        records[name] = value
    engine = _engine_from_records(config, ((k, v) for k, v in records.items()))
    meta = records[META]
    generations = [head["generation"]]
    generations += [int(n.split(":")[1]) for n in obsolete if n.startswith(f"{REDO}:")]
    return PartitionState(
        partition,
        engine,
        offsets=dict(meta["offsets"]),
        generation=max(generations),
        outbox=_outbox_from_json(meta["outbox"]),
        obsolete=[*obsolete, *chunks],
        carried=[(name, value) for name, value in redo],
    )


def _restore_legacy(partition: int, config: EngineConfig, raw: dict[str, bytes]) -> PartitionState:
    head = orjson.loads(raw[LEGACY_HEAD])
    generation = head["generation"]
    blob = b"".join(raw[f"{generation}:{i}"] for i in range(head["chunks"]))
    return PartitionState(
        partition,
        engine_from_json(config, orjson.loads(blob)),
        offsets=dict(head["offsets"]),
        generation=generation,
        outbox=_outbox_from_json(head.get("outbox", ())),
        obsolete=list(raw),
        write_all=True,
    )


def stale_names(state: PartitionState, store: Store) -> list[str]:
    """The partition's keys in `store` (but its redo head), to delete after a checkpoint that
    writes everything unless it writes them again."""
    prefix = f"{state.partition}:"
    names = (key.decode() for key, _ in store.items())
    return [n[len(prefix) :] for n in names if n.startswith(prefix) and n != f"{prefix}{REDO}"]


def _outbox_to_json(outbox: Sequence[OutboxRecord]) -> list[list[str | None]]:
    return [
        [topic, None if key is None else base64.b64encode(key).decode(), value.decode()]
        for topic, key, value in outbox
    ]


def _outbox_from_json(raw: Iterable[list[Any]]) -> list[OutboxRecord]:
    return [
        (topic, None if key is None else base64.b64decode(key), value.encode())
        for topic, key, value in raw
    ]


def write_checkpoint(
    state: PartitionState, write: Write, outbox: Sequence[OutboxRecord] = ()
) -> dict[str, int]:
    """Write the next checkpoint generation; return the offsets to commit once it is durable.

    The offsets are Kafka's next-to-read offsets per input topic: everything below
    them is in this checkpoint. `outbox`: the outputs the covered input caused that are
    not yet known to be delivered; kept with the checkpoint, so a crash cannot lose them.
    """
    generation = state.generation + 1
    meta = {"offsets": state.offsets, "outbox": _outbox_to_json(outbox)}
    take = all_records if state.write_all else changed_records
    records: list[Record] = take(state.engine, generation, **meta)
    if state.carried:
        newer = {name for name, _ in records}
        records = [r for r in state.carried if r[0] not in newer] + records
    blob = orjson.dumps(records)
    chunks = max(1, -(-len(blob) // CHUNK_BYTES))
    partition = state.partition
    for index in range(chunks):
        chunk = blob[index * CHUNK_BYTES : (index + 1) * CHUNK_BYTES]
        write(table_key(partition, _redo_chunk(generation, index)), chunk)
    head = {"generation": generation, "chunks": chunks, "bytes": len(blob)}
    write(table_key(partition, REDO), orjson.dumps(head))
    for name, value in records:
        write(table_key(partition, name), None if value is None else orjson.dumps(value))
    written = {name for name, _ in records}
    for name in state.obsolete:
        if name not in written and not name.startswith(f"{REDO}:{generation}:"):
            write(table_key(partition, name), None)
    state.obsolete = [_redo_chunk(generation, index) for index in range(chunks)]
    state.outbox = list(outbox)
    state.generation = generation
    state.write_all = False
    state.carried = []
    state.unsaved = 0
    return {topic: offset + 1 for topic, offset in state.offsets.items()}
