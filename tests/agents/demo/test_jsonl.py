"""Writing the lines as a replay file, to a path or to binary and text streams."""

from __future__ import annotations

import io
from pathlib import Path

import orjson

from agents.demo import WorldSpec, generate, write_jsonl


def test_write_jsonl_to_a_path_and_to_streams(tmp_path: Path, small: WorldSpec) -> None:
    lines = list(generate(small))
    path = tmp_path / "world.jsonl"
    assert write_jsonl(lines, path) == len(lines)
    assert write_jsonl(lines, str(path)) == len(lines)
    binary, text = io.BytesIO(), io.StringIO()
    assert write_jsonl(iter(lines), binary) == len(lines)
    assert write_jsonl(lines, text) == len(lines)
    written = path.read_bytes()
    assert written == binary.getvalue() == text.getvalue().encode()
    assert [orjson.loads(row) for row in written.splitlines()] == lines
    assert write_jsonl([], io.BytesIO()) == 0
