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
checkpoint whole.

Every key carries the term of the owner that wrote it
(`{partition}:T{generation}-{n}.{name}`): the consumer group generation in which the
owner restored the partition, which Kafka makes unique to one owner of a partition,
and a count within it. An owner begins a new term when it restores the partition (at
least one above every term in the table), and again after a checkpoint the broker did
not acknowledge in full; a term's first checkpoint writes every record and then deletes
every key of the earlier terms. A restore takes the highest term that has a redo head
and ignores the others, so the late writes of a worker that lost the partition while
its checkpoint was in flight (a zombie, whose term is lower: even one that restored
the partition just before, in an earlier generation) can never mix into the new
owner's state. Checkpoints of earlier
versions (keys without a term; the whole engine as JSON chunks under
`{partition}:head`) are read, and replaced by a term's full write.
"""

from __future__ import annotations

import base64
import re
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
_TERMED: Final = re.compile(r"T(\d+)-(\d+)\.(.*)", re.DOTALL)
Term = tuple[int, int]
"""(consumer group generation of the restore, count within it): ordered as a tuple."""


class Store(Protocol):
    """One partition's keys of the recovered checkpoint table (agents/worker/table_store.py)."""

    def get(self, key: bytes, /) -> bytes | None: ...

    def items(self) -> Iterable[tuple[bytes, bytes]]: ...


OutboxRecord = tuple[str, bytes | None, bytes]
"""(topic, key, value) of one output record."""

Write = Callable[[bytes, bytes | None], None]
"""Write (or, with None, delete) one checkpoint-table key in this partition's changelog."""


def table_key(partition: int, term: Term, name: str) -> bytes:
    return f"{partition}:T{term[0]}-{term[1]}.{name}".encode()


def _redo_chunk(generation: int, index: int) -> str:
    return f"{REDO}:{generation}:{index}"


@dataclass(slots=True)
class PartitionState:
    partition: int
    engine: Engine
    offsets: dict[str, int] = field(default_factory=dict)
    """Input topic -> last applied offset (checkpointed with the engine)."""
    term: Term = (0, 1)
    """This owner's term: the keys it writes carry it (a restore trusts the highest)."""
    generation: int = 0
    unsaved: int = 0
    """Messages applied since the last checkpoint (committed once it is durable)."""
    dirty_accounts: set[str] = field(default_factory=set)
    outbox: list[OutboxRecord] = field(default_factory=list)
    """Outputs of this partition's input not yet known to be delivered when the last
    checkpoint was written: sent again after a restore (at least once, never lost)."""
    obsolete: set[bytes] = field(default_factory=set)
    """Table keys to delete after the next checkpoint (old redo chunks, earlier terms)."""
    write_all: bool = True
    """The next checkpoint writes every record: the first of a term."""

    def already_applied(self, topic: str, offset: int) -> bool:
        return offset <= self.offsets.get(topic, -1)

    def applied(self, topic: str, offset: int, account_id: str | None) -> None:
        self.offsets[topic] = offset
        self.unsaved += 1
        if account_id is not None:
            self.dirty_accounts.add(account_id)

    def begin_term(self, keys: Iterable[bytes], generation: int | None = None) -> None:
        """Write everything under a new term at the next checkpoint, and delete `keys` (every
        key this partition may hold in the changelog) after it. The term is the group
        `generation` (default: this term's) if that is above every term in `keys`, else
        one count above the highest (a group whose generations started again)."""
        keys = list(keys)
        terms = [t for t, _ in map(_term_of, keys) if t is not None]
        top = max([self.term, *terms])
        generation = self.term[0] if generation is None else generation
        self.term = max((generation, 0), (top[0], top[1] + 1))
        self.obsolete.update(keys)
        self.write_all = True


def _term_of(key: bytes) -> tuple[Term | None, str]:
    """(term, name) of a table key; term (0, 0) for the keys of the untermed version, None
    for a whole-engine checkpoint's."""
    name = key.decode().partition(":")[2]
    if match := _TERMED.fullmatch(name):
        return (int(match[1]), int(match[2])), match[3]
    if name == LEGACY_HEAD or name[:1].isdigit():
        return None, name
    return (0, 0), name


def restore(
    partition: int, config: EngineConfig, store: Store, generation: int = 0
) -> PartitionState:
    """The partition's state from its last complete checkpoint, or a fresh one; in a new
    term either way (`generation`: the consumer group generation of the assignment)."""
    prefix = f"{partition}:".encode()
    keys: list[bytes] = []
    by_term: dict[Term, dict[str, bytes]] = {}
    legacy: dict[str, bytes] = {}
    for key, value in store.items():
        if not key.startswith(prefix):
            continue
        keys.append(key)
        term, name = _term_of(key)
        (legacy if term is None else by_term.setdefault(term, {}))[name] = value
    headed = [term for term, names in by_term.items() if REDO in names]
    if headed:
        state = _restore_records(partition, config, by_term[max(headed)])
    elif LEGACY_HEAD in legacy:
        state = _restore_legacy(partition, config, legacy)
    else:
        state = PartitionState(partition, Engine(config))
    state.term = (0, 0)
    state.begin_term(keys, generation)
    return state


def _restore_records(partition: int, config: EngineConfig, raw: dict[str, bytes]) -> PartitionState:
    head = orjson.loads(raw.pop(REDO))
    chunks = [_redo_chunk(head["generation"], i) for i in range(head["chunks"])]
    redo = orjson.loads(b"".join(raw[c] for c in chunks))
    records: dict[str, Any] = {
        name: orjson.loads(value) for name, value in raw.items() if not name.startswith(REDO)
    }
    for name, value in redo:
        records[name] = value
    engine = _engine_from_records(config, records.items())
    meta = records[META]
    return PartitionState(
        partition,
        engine,
        offsets=dict(meta["offsets"]),
        generation=head["generation"],
        outbox=_outbox_from_json(meta["outbox"]),
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
    )


def _compact(encoded: bytes) -> bytes:
    """A copy of exactly its length: orjson's result keeps the whole 4 KB buffer it wrote
    into, and a checkpoint holds each record's value until the broker acknowledged it."""
    return memoryview(encoded).tobytes()


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
    blob = orjson.dumps(records)
    chunks = max(1, -(-len(blob) // CHUNK_BYTES))
    partition, term = state.partition, state.term
    redo = [table_key(partition, term, _redo_chunk(generation, i)) for i in range(chunks)]
    for index, key in enumerate(redo):
        write(key, blob[index * CHUNK_BYTES : (index + 1) * CHUNK_BYTES])
    head = {"generation": generation, "chunks": chunks, "bytes": len(blob)}
    write(table_key(partition, term, REDO), orjson.dumps(head))
    written = set(redo)
    for name, value in records:
        key = table_key(partition, term, name)
        written.add(key)
        write(key, None if value is None else _compact(orjson.dumps(value)))
    for key in sorted(state.obsolete - written):
        write(key, None)
    state.obsolete = set(redo)
    state.outbox = list(outbox)
    state.generation = generation
    state.write_all = False
    state.unsaved = 0
    return {topic: offset + 1 for topic, offset in state.offsets.items()}
