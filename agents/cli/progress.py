"""A progress bar on stderr, shown only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    __slots__ = ("_enabled", "_label", "_last", "_started", "_stream", "_total")

    def __init__(
        self,
        label: str,
        total: int | None,
        *,
        stream: TextIO | None = None,
        enabled: bool | None = None,
    ) -> None:
        self._stream = stream or sys.stderr
        self._enabled = self._stream.isatty() if enabled is None else enabled
        self._label = label
        self._total = total
        self._started = time.monotonic()
        self._last = 0.0

    def update(self, done: int, count: int, *, force: bool = False) -> None:
        """`done` units of `total` (e.g. bytes), `count` items (e.g. lines) so far."""
        if not self._enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        elapsed = max(now - self._started, 1e-9)
        rate = count / elapsed
        if self._total:
            fraction = min(done / self._total, 1.0)
            filled = int(fraction * 30)
            bar = "█" * filled + "░" * (30 - filled)
            eta = (elapsed / fraction - elapsed) if fraction > 0 else 0.0
            text = (
                f"{self._label} {bar} {fraction:6.1%}  {count:,} lines"
                f"  {rate:,.0f}/s  eta {eta:4.0f}s"
            )
        else:
            text = f"{self._label} {count:,} lines  {rate:,.0f}/s"
        self._stream.write("\r" + text[:100] + "\x1b[K")
        self._stream.flush()

    def close(self, done: int, count: int) -> None:
        if self._enabled:
            self.update(done, count, force=True)
            self._stream.write("\n")
            self._stream.flush()
