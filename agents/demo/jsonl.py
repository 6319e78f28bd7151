"""Writing replay-file lines as JSON lines, to a path or an open stream.

Why it exists: the demo, `--out` files and the benchmarks write hundreds of
thousands of lines; batching the writes keeps that from dominating the cost.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from pathlib import Path
from typing import IO, cast

import orjson

from agents.demo.spec import Line


def write_jsonl(
    lines: Iterable[Line], path_or_stream: str | os.PathLike[str] | IO[bytes] | IO[str]
) -> int:
    """Write `lines` as JSON lines (orjson) to a path or an open stream; return the count."""
    if isinstance(path_or_stream, str | os.PathLike):
        with Path(path_or_stream).open("wb") as handle:
            return _write_lines(lines, handle)
    if isinstance(path_or_stream, io.TextIOBase):
        return _write_lines(lines, cast(IO[str], path_or_stream), text=True)
    return _write_lines(lines, cast(IO[bytes], path_or_stream))


def _write_lines(lines: Iterable[Line], out: IO[bytes] | IO[str], *, text: bool = False) -> int:
    """Batches of lines per write call: one call per line would dominate the cost."""
    count = 0
    batch: list[bytes] = []
    for line in lines:
        batch.append(orjson.dumps(line))
        count += 1
        if len(batch) == 4096:
            _flush(batch, out, text)
    _flush(batch, out, text)
    return count


def _flush(batch: list[bytes], out: IO[bytes] | IO[str], text: bool) -> None:
    if not batch:
        return
    data = b"\n".join(batch) + b"\n"
    if text:
        cast(IO[str], out).write(data.decode())
    else:
        cast(IO[bytes], out).write(data)
    batch.clear()
