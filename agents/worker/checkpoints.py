"""One partition's engine, the input offsets it has applied, and its checkpoints.

Recovery is exact by this discipline: an input message is acknowledged (so its
offset may be committed) only after a checkpoint that contains its effect has
been durably written to the changelog. After a crash, Kafka redelivers from the
committed offset, which is at or before the last checkpoint; messages at or
below the checkpoint's offsets are skipped, later ones applied again. Nothing is
lost and nothing is applied twice.

Checkpoints are chunked (`CHUNK_BYTES`) under a generation number, the head is
written last, and the previous generation is deleted afterwards, so a crash
mid-checkpoint leaves the previous one intact.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import orjson

from state.checkpoint_records import discard_changes
from state.codec import engine_from_json, engine_to_json
from state.config import EngineConfig
from state.engine import Engine

CHUNK_BYTES = 512 * 1024


class Store(Protocol):
    """One partition's view of the recovered checkpoint table (agents/worker/table_store.py)."""

    def get(self, key: bytes, /) -> bytes | None: ...

    def __getitem__(self, key: bytes, /) -> bytes: ...


OutboxRecord = tuple[str, bytes | None, bytes]
"""(topic, key, value) of one output record."""

Write = Callable[[bytes, bytes | None], None]
"""Write (or, with None, delete) one checkpoint-table key in this partition's changelog."""


def head_key(partition: int) -> bytes:
    return f"{partition}:head".encode()


def chunk_key(partition: int, generation: int, index: int) -> bytes:
    return f"{partition}:{generation}:{index}".encode()


@dataclass(slots=True)
class PartitionState:
    partition: int
    engine: Engine
    offsets: dict[str, int] = field(default_factory=dict)
    """Input topic -> last applied offset (checkpointed with the engine)."""
    generation: int = 0
    chunks: int = 0
    unsaved: int = 0
    """Messages applied since the last checkpoint (committed once it is durable)."""
    dirty_accounts: set[str] = field(default_factory=set)
    outbox: list[OutboxRecord] = field(default_factory=list)
    """Outputs of this partition's input not yet known to be delivered when the last
    checkpoint was written: sent again after a restore (at least once, never lost)."""

    def already_applied(self, topic: str, offset: int) -> bool:
        return offset <= self.offsets.get(topic, -1)

    def applied(self, topic: str, offset: int, account_id: str | None) -> None:
        self.offsets[topic] = offset
        self.unsaved += 1
        if account_id is not None:
            self.dirty_accounts.add(account_id)


def restore(partition: int, config: EngineConfig, store: Store) -> PartitionState:
    """The partition's state from its last complete checkpoint, or a fresh one."""
    head_raw = store.get(head_key(partition))
    if head_raw is None:
        return PartitionState(partition, Engine(config))
    head = orjson.loads(head_raw)
    blob = b"".join(
        store[chunk_key(partition, head["generation"], i)] for i in range(head["chunks"])
    )
    engine = engine_from_json(config, orjson.loads(blob))
    outbox = [
        (topic, None if key is None else base64.b64decode(key), value.encode())
        for topic, key, value in head.get("outbox", ())
    ]
    return PartitionState(
        partition,
        engine,
        offsets=dict(head["offsets"]),
        generation=head["generation"],
        chunks=head["chunks"],
        outbox=outbox,
    )


def write_checkpoint(
    state: PartitionState, write: Write, outbox: Sequence[OutboxRecord] = ()
) -> dict[str, int]:
    """Write the next checkpoint generation; return the offsets to commit once it is durable.

    The offsets are Kafka's next-to-read offsets per input topic: everything below
    them is in this checkpoint. `outbox`: the outputs the covered input caused that are
    not yet known to be delivered; kept with the checkpoint, so a crash cannot lose them.
    """
    blob = orjson.dumps(engine_to_json(state.engine))
    discard_changes(state.engine)
    generation = state.generation + 1
    chunks = max(1, -(-len(blob) // CHUNK_BYTES))
    for index in range(chunks):
        write(
            chunk_key(state.partition, generation, index),
            blob[index * CHUNK_BYTES : (index + 1) * CHUNK_BYTES],
        )
    head = {
        "generation": generation,
        "chunks": chunks,
        "offsets": state.offsets,
        "bytes": len(blob),
        "outbox": [
            [topic, None if key is None else base64.b64encode(key).decode(), value.decode()]
            for topic, key, value in outbox
        ],
    }
    state.outbox = list(outbox)
    write(head_key(state.partition), orjson.dumps(head))
    for index in range(state.chunks):
        write(chunk_key(state.partition, state.generation, index), None)
    state.generation, state.chunks = generation, chunks
    state.unsaved = 0
    return {topic: offset + 1 for topic, offset in state.offsets.items()}
