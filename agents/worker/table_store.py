"""The checkpoints table's local store, read and written one partition at a time.

Faust's table API takes the partition from the current event: rocksdict keeps one
database per partition and looks a key up in the event's partition's. Checkpoints
are written by a timer (no event) and restored from inside an agent that consumes
record batches (whose events belong to an in-memory channel, not to the
partition), so both go through `PartitionStore`, which names the partition. The
changelog is written separately, by the checkpointer through the producer, which
moves the store's persisted offset once a checkpoint is acknowledged and stored here
(`faust_compat.mark_persisted`), so after a restart only the changelog written since
is read back. Faust's own key index (which partition holds a key, for
`table[key]`) is not kept: nothing reads this table through Faust.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from agents.worker.faust_compat import partition_db
from models.settings import Settings


def table_store(settings: Settings) -> str:
    """`GROWTH_TABLE_STORE`: `auto` is rocksdb:// (Faust's rocksdict driver) where it installs."""
    if settings.table_store != "auto":
        return settings.table_store
    try:
        import rocksdict  # noqa: F401
    except ImportError:
        return "memory://"
    return "rocksdb://"


class PartitionStore:
    """One partition's keys of a Faust table store (rocksdict or memory://)."""

    __slots__ = ("_partition", "_store")

    def __init__(self, store: Any, partition: int) -> None:
        self._store = store
        self._partition = partition

    def _db(self) -> Any | None:
        return partition_db(self._store, self._partition)

    def get(self, key: bytes, default: bytes | None = None) -> bytes | None:
        db = self._db()
        value = self._store.data.get(key) if db is None else db.get(key)
        return default if value is None else value

    def __getitem__(self, key: bytes) -> bytes:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def items(self) -> Iterator[tuple[bytes, bytes]]:
        """Every key and value of this partition (in the memory store, which holds every
        partition's, the keys with its `{partition}:` prefix)."""
        db = self._db()
        if db is None:
            prefix = f"{self._partition}:".encode()
            return iter([(k, v) for k, v in self._store.data.items() if k.startswith(prefix)])
        return iter(db.items())

    def write(self, key: bytes, value: bytes | None) -> None:
        """Set (or, with None, delete) one key."""
        self.write_many([(key, value)])

    def write_many(self, records: Iterable[tuple[bytes, bytes | None]]) -> None:
        """Set (or, with None, delete) keys; in one write batch with rocksdict."""
        db = self._db()
        if db is None:
            data = self._store.data
            for key, value in records:
                if value is None:
                    data.pop(key, None)
                else:
                    data[key] = value
            return
        from rocksdict import WriteBatch

        batch = WriteBatch(raw_mode=True)  # as Faust opens the database
        for key, value in records:
            if value is None:
                batch.delete(key)
            else:
                batch.put(key, value)
        db.write(batch)
