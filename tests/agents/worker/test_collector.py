"""The worker's garbage-collector settings, checked in a child interpreter (freezing the
test process's objects would change every test after this one)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from agents.worker.collector import MIDDLE_THRESHOLD, OLD_THRESHOLD, YOUNG_THRESHOLD

ROOT = Path(__file__).resolve().parents[3]

_CHILD = """
import gc, json, weakref
from agents.worker.collector import settle_for_streaming
class Node:
    pass
node = Node()
node.self = node
garbage = weakref.ref(node)
del node
gc.disable()
before = gc.get_freeze_count()
settle_for_streaming()
print(json.dumps({"before": before, "frozen": gc.get_freeze_count(),
                  "threshold": gc.get_threshold(), "cycle_collected": garbage() is None}))
"""


def _settled() -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], cwd=ROOT, capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_start_up_objects_are_frozen_and_young_collections_come_less_often() -> None:
    settled = _settled()
    assert settled["before"] == 0
    assert isinstance(settled["frozen"], int) and settled["frozen"] > 1000
    assert settled["threshold"] == [YOUNG_THRESHOLD, MIDDLE_THRESHOLD, OLD_THRESHOLD]
    assert YOUNG_THRESHOLD > 700  # CPython's default, which the benchmark found costly


def test_garbage_cycles_left_by_start_up_are_collected_not_frozen() -> None:
    assert _settled()["cycle_collected"] is True
