"""Where a worker's resident memory goes: run the worker under a census.

`python -m bench.state.census worker ...` runs `growthstream worker ...` with a thread that,
every `BENCH_CENSUS_SECONDS` (30), appends one JSON line to `BENCH_CENSUS_OUT`:
- `rss`: VmRSS of the process;
- `pymalloc`: CPython's small-object allocator (objects of at most 512 bytes, which is most
  of the engine's state): the bytes of its arenas, the bytes of the blocks in use and the
  bytes of its free blocks (`sys._debugmallocstats`);
- `malloc`: glibc's heap (`mallinfo2`): bytes in use (larger Python objects, RocksDB, the
  Kafka clients' buffers), bytes free but kept, and bytes in mmapped chunks;
- `types`: the Python objects the garbage collector tracks, by type: how many and their
  shallow size (`sys.getsizeof`), the largest first; `str`, `int` and `bytes` are not
  tracked by the collector and appear only inside `pymalloc` and `malloc`.

Why not `tracemalloc`: it slows the engine several-fold and its own tables sit in the same
RSS it would explain. A census is a snapshot of the allocators, cheap enough to take while
the worker catches up, so the RSS of `bench.state` can be split into what the state holds,
what the allocators keep free, and what is outside Python.
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import re
import runpy
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

_FIELD = re.compile(
    r"^# (arenas allocated current|bytes in allocated blocks|bytes in available blocks)"
    r"\s+=\s+([\d,]+)$"
)
_UNUSED = re.compile(r"^(\d+) unused pools \* (\d+) bytes")


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost",
    )]  # fmt: skip


def pymalloc() -> dict[str, int]:
    """CPython's small-object allocator, from `sys._debugmallocstats` (it writes to fd 2)."""
    with tempfile.TemporaryFile("w+") as out:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(out.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        found: dict[str, int] = {}
        for line in out:
            text = line.strip()
            if match := _FIELD.match(text):
                found[match.group(1).replace(" ", "_")] = int(match.group(2).replace(",", ""))
            elif unused := _UNUSED.match(text):
                found["unused_pools"] = int(unused.group(1)) * int(unused.group(2))
    return {
        "arena_bytes": found.get("arenas_allocated_current", 0) * 1024 * 1024,
        "used_bytes": found.get("bytes_in_allocated_blocks", 0),
        "free_block_bytes": found.get("bytes_in_available_blocks", 0),
        "unused_pool_bytes": found.get("unused_pools", 0),
    }


def malloc() -> dict[str, int]:
    """glibc's heap: in use, free but kept, and mmapped (0s where mallinfo2 is missing)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _Mallinfo2
        info = libc.mallinfo2()
    except (OSError, AttributeError):
        return {"in_use_bytes": 0, "free_bytes": 0, "mmapped_bytes": 0}
    return {
        "in_use_bytes": int(info.uordblks),
        "free_bytes": int(info.fordblks),
        "mmapped_bytes": int(info.hblkhd),
    }


def types(top: int = 15) -> list[dict[str, Any]]:
    counts: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    for obj in gc.get_objects():
        name = type(obj).__qualname__
        counts[name] += 1
        sizes[name] += sys.getsizeof(obj)
    return [{"type": n, "count": counts[n], "bytes": b} for n, b in sizes.most_common(top)]


def rss() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def census(started: float) -> dict[str, Any]:
    return {
        "t": round(time.monotonic() - started, 1),
        "rss": rss(),
        "pymalloc": pymalloc(),
        "malloc": malloc(),
        "types": types(),
    }


def _every(path: Path, seconds: float) -> None:
    started = time.monotonic()
    while True:
        time.sleep(seconds)
        line = json.dumps(census(started))
        with path.open("a") as out:
            out.write(line + "\n")


def last_census(path: Path) -> dict[str, Any] | None:
    """The last census a run wrote (None when it wrote none)."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    return json.loads(lines[-1]) if lines else None


def main() -> None:
    out = Path(os.environ.get("BENCH_CENSUS_OUT", "census.jsonl"))
    seconds = float(os.environ.get("BENCH_CENSUS_SECONDS", "30"))
    threading.Thread(target=_every, args=(out, seconds), daemon=True, name="census").start()
    sys.argv = ["growthstream", *sys.argv[1:]]
    runpy.run_module("agents.cli", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
