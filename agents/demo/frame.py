"""The frame of one world: its spec, its period, its timestamps and its event ids.

Why it exists: accounts, traps and bad messages each need a little of the
world (when it ends, how to write an instant, the next event id) but not the
scheduler itself. `World` creates one frame and hands it down, so those
modules depend on this one and never on `world`, and the id counter and the
timestamp cache stay shared, exactly one of each per world.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from agents.demo.instants import DAY, Stamps, to_seconds
from agents.demo.spec import WorldSpec


class Frame:
    """A world's spec, its period [start, end) in seconds, its stamps and its id counter."""

    __slots__ = ("end", "ids", "spec", "stamps", "start")

    def __init__(self, spec: WorldSpec) -> None:
        self.spec = spec
        self.start = to_seconds(
            datetime(spec.start.year, spec.start.month, spec.start.day, tzinfo=UTC)
        )
        self.end = self.start + spec.days * DAY
        self.stamps = Stamps()
        self.ids = itertools.count(1)

    def event_id(self, kind: str) -> str:
        return f"{kind}-{next(self.ids)}"
