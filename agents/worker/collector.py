"""The cyclic garbage collector, set for a long-running stream worker.

With CPython's defaults (a young-generation collection every 700 new container
objects) the worker spent about a seventh of its CPU time collecting during a
catch-up (bench/README-worker.md): each fetched record allocates several tuples
and objects that live until it is applied, so collections come every few hundred
records, promote records still waiting in the merger, and every so often the oldest
generation walks everything alive, the tens of thousands of objects the imports
and Faust's start-up left behind included. The records die young and the engine's
own state holds few cycles, so collecting less often frees the same memory:
`freeze` moves what start-up left into the permanent generation (never walked
again), and the young generation is collected every `YOUNG_THRESHOLD` objects.
"""

from __future__ import annotations

import gc
from typing import Final

YOUNG_THRESHOLD: Final = 20_000
"""New container objects between two young-generation collections (CPython: 700)."""
MIDDLE_THRESHOLD: Final = 20
"""Young collections between two middle-generation collections (CPython: 10)."""
OLD_THRESHOLD: Final = 10
"""Middle collections between two old-generation collections (CPython: 10; CPython also
waits until a quarter of the old generation is new)."""


def settle_for_streaming() -> None:
    """Collect what start-up left as garbage, freeze the rest, and raise the thresholds;
    called once, when the worker has been built and before it starts consuming."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD)
