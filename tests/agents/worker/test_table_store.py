"""Checkpoints written by a timer land in Faust's real table stores and restore from them."""

from __future__ import annotations

from pathlib import Path

import faust
import orjson
import pytest

from agents.worker import checkpoints as part
from agents.worker.table_store import PartitionStore, table_store
from models.decode import Decoder, Rejection
from models.settings import Settings
from state.codec import engine_to_json
from tests.support.streams import RANDOM_CONFIG, random_stream

SETTINGS = Settings(fx_rates=dict(RANDOM_CONFIG.fx_rates))

STORES = ["memory://", pytest.param("rocksdb://", id="rocksdict")]


def _table_data(store: str, tmp_path: Path) -> object:
    if store.startswith("rocksdb"):
        pytest.importorskip("rocksdict")
    app = faust.App("gs-store-test", store=store, datadir=str(tmp_path), autodiscover=False)
    table = app.Table("checkpoints", partitions=2, key_type=bytes, value_type=bytes)
    assert (table.key_serializer, table.value_serializer) == ("raw", "raw")  # type: ignore[attr-defined]
    return table.data


def _state_after(events: int, partition: int) -> part.PartitionState:
    state = part.restore(partition, RANDOM_CONFIG, {})
    decoder = Decoder(SETTINGS)
    for offset, (topic, value) in enumerate(random_stream(partition + 5, length=events)):
        event = decoder.decode(topic, orjson.dumps(value))
        assert not isinstance(event, Rejection)
        state.engine.apply(event)
        state.applied(topic, offset, event.account_id)
    return state


@pytest.mark.parametrize("store", STORES)
def test_checkpoints_of_two_partitions_restore_from_the_local_store(
    store: str, tmp_path: Path
) -> None:
    data = _table_data(store, tmp_path)
    states = {p: _state_after(300, p) for p in (0, 1)}
    for p, state in states.items():
        part.CHUNK_BYTES, saved = 1024, part.CHUNK_BYTES  # several chunks per checkpoint
        try:
            part.write_checkpoint(state, PartitionStore(data, p).write)
            part.write_checkpoint(state, PartitionStore(data, p).write)
        finally:
            part.CHUNK_BYTES = saved
    for p, state in states.items():
        restored = part.restore(p, RANDOM_CONFIG, PartitionStore(data, p))
        assert restored.offsets == state.offsets and restored.generation == 2
        assert engine_to_json(restored.engine) == engine_to_json(state.engine)
        store_p, term = PartitionStore(data, p), (0, 1)
        assert store_p.get(part.table_key(p, term, "redo:1:0")) is None  # the old redo entry
        assert store_p.get(part.table_key(p, term, "redo:2:0")) is not None
        if store.startswith("rocksdb"):  # one database per partition
            assert PartitionStore(data, 1 - p).get(part.table_key(p, (0, 1), "redo")) is None
            assert all(k.startswith(f"{p}:".encode()) for k, _ in PartitionStore(data, p).items())


def test_auto_store_is_rocksdb_where_rocksdict_installs() -> None:
    pytest.importorskip("rocksdict")
    assert table_store(Settings()) == "rocksdb://"
    assert table_store(Settings(table_store="memory://")) == "memory://"
