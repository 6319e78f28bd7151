"""Resident memory of a process, from /proc, and HTTP probes of a worker.

Why it exists: both parts report memory the same way (VmRSS, and VmHWM, the peak,
of /proc/PID/status, no tracemalloc: it would slow the engine several-fold), and
the broker part reads the worker's `/health` and `/prometheus` with a short timeout
so that a busy worker delays a sample, never the benchmark.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from pathlib import Path

MB = 1024 * 1024
_SAMPLE = re.compile(r"^(growthstream_[a-z_]+)(\{[^}]*\})? ([0-9.eE+-]+|NaN)$")


def status_kb(pid: int | str = "self") -> dict[str, int]:
    """VmRSS and VmHWM (kB) of a process; empty when it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    out: dict[str, int] = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0])
    return out


def rss_bytes(pid: int | str = "self") -> int | None:
    kb = status_kb(pid).get("VmRSS")
    return None if kb is None else kb * 1024


def http_get(port: int, path: str, timeout: float = 2.0) -> tuple[int, bytes]:
    """(status, body) of a GET on the worker's web port; status 0 when nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as reply:
            return int(reply.status), bytes(reply.read())
    except urllib.error.HTTPError as exc:
        return int(exc.code), b""
    except (OSError, ValueError):
        return 0, b""


def prometheus_counters(text: bytes) -> dict[str, float]:
    """The `growthstream_*` samples of an OpenMetrics text; labelled samples of one name
    (dead letters by reason, lag by partition) are summed."""
    out: dict[str, float] = {}
    for line in text.decode(errors="replace").splitlines():
        match = _SAMPLE.match(line)
        if match and match.group(3) != "NaN":
            name = match.group(1)
            out[name] = out.get(name, 0.0) + float(match.group(3))
    return out
