"""Progress lines on stderr, so that stdout carries only the report.

Why it exists: every part of the benchmark says what it is doing (and a long
produce says how far it is) the same way: `[bench HH:MM:SS] ...` on stderr.
"""

from __future__ import annotations

import sys
import time
from typing import Any


def say(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def progress_printer(total: int, what: str) -> Any:
    step = max(total // 10, 1)
    mark = {"next": step}

    def progress(_bytes: int, lines: int) -> None:
        if lines >= mark["next"]:
            mark["next"] += step
            say(f"{what}: {lines:,}/{total:,} lines")

    return progress
