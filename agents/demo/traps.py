"""The traps a real bus carries: duplicates, out-of-order and late lines, bad messages.

Why it exists: the processor's dedupe, lateness and dead-letter rules need a
stream that exercises them, with labels a test can trust. This is a second
pass over the ordered world, so `traps=False` gives the same world without them.
"""

from __future__ import annotations

from collections.abc import Iterator
from heapq import heappop, heappush
from random import Random
from typing import Final, cast

from agents.demo.bad_messages import BadMessages
from agents.demo.frame import Frame
from agents.demo.instants import DAY, HOUR, MINUTE
from agents.demo.spec import BAD_KINDS, DUPLICATE, LATE, OUT_OF_ORDER, Line

_LATENESS: Final = 30 * DAY  # the default allowed lateness (METRICS.md)

_P_DUPLICATE: Final = 0.006
_P_OUT_OF_ORDER: Final = 0.004
_P_LATE: Final = 0.0015
_P_BAD: Final = 0.004


class Traps:
    """Adds the traps to an ordered stream, labelling each line with what it is.

    Held lines (out of order, late, duplicates) wait in a heap until the stream
    passes their release time. A label is checked against the stream time the
    engine will see when the line is delivered, so it is true by construction:
    a straggler that turns out to be no later than anything delivered is no trap.
    """

    __slots__ = ("_bad_messages", "_deck", "_end", "_held", "_max", "_seq", "rng")

    def __init__(self, frame: Frame, rng: Random) -> None:
        self.rng = rng
        self._end = frame.end - DAY
        self._bad_messages = BadMessages(frame, rng)
        self._held: list[tuple[int, int, int, str, Line]] = []
        self._seq = 0
        self._max: int | None = None
        self._deck: list[str] = []

    def apply(self, stream: Iterator[tuple[int, Line]]) -> Iterator[tuple[str | None, Line]]:
        rng = self.rng
        for t, line in stream:
            while self._held and self._held[0][0] <= t:
                yield self._release()
            draw = rng.random()
            if draw < _P_LATE and line["topic"] in ("activity", "surveys"):
                release = t + int((31 + 14 * rng.random()) * DAY)
                if release < self._end:  # else the stream would end before it is late
                    self._hold(release, t, LATE, line)
                    continue
            if draw < _P_LATE + _P_OUT_OF_ORDER:
                self._hold(t + 3 * HOUR + int(rng.random() * 10 * DAY), t, OUT_OF_ORDER, line)
                continue
            self._advance(t)
            yield None, line
            if rng.random() < _P_DUPLICATE:
                self._hold(t + MINUTE + int(rng.random() * 6 * HOUR), t, DUPLICATE, dict(line))
            if rng.random() < _P_BAD:
                yield self._bad(t, cast(str, line["key"]))
        while self._held:
            yield self._release()

    def _advance(self, t: int) -> None:
        if self._max is None or t > self._max:
            self._max = t

    def _hold(self, release: int, t: int, label: str, line: Line) -> None:
        self._seq += 1
        heappush(self._held, (release, self._seq, t, label, line))

    def _release(self) -> tuple[str | None, Line]:
        _release, _seq, t, label, line = heappop(self._held)
        if label == DUPLICATE:
            return label, line
        if self._max is not None and t < self._max - _LATENESS:
            return LATE, line
        if self._max is not None and t < self._max:
            return OUT_OF_ORDER, line
        self._advance(t)
        return None, line

    def _bad(self, t: int, account_id: str) -> tuple[str | None, Line]:
        """A malformed message of the next bad kind, for this account at this time."""
        if not self._deck:
            self._deck = list(BAD_KINDS)
            self.rng.shuffle(self._deck)
        kind = self._deck.pop()
        topic, raw = self._bad_messages.make(kind, t, account_id)
        return kind, {"topic": topic, "key": account_id, "value": raw}
