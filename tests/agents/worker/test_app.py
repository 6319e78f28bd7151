"""`build_app`: the worker's checkpoint store is sized for what it is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agents.worker.app import STORE_OPTIONS, build_app
from models.settings import Settings


def test_the_checkpoint_store_gets_its_rocksdb_sizes(tmp_path: Path) -> None:
    """Faust's defaults (64 MB memtables, up to 3, a 2 GB block cache, per partition) would
    let each partition's database grow with the writes of a catch-up."""
    pytest.importorskip("rocksdict")
    app = build_app(Settings(data_dir=str(tmp_path), table_store="rocksdb://"), web_port=16_067)
    store: Any = app.growth.checkpoints.data  # type: ignore[attr-defined]
    options = store.rocksdb_options
    assert options.write_buffer_size == STORE_OPTIONS["write_buffer_size"] == 8 * 1024**2
    assert options.max_write_buffer_number == 2
    assert options.block_cache_size == 32 * 1024**2
