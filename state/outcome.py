"""What one message did to a partition's engine, as data.

Both shells act on an `Outcome` and on nothing else: the worker sends the dead
letter and the alerts it names, the replay writes them to files; neither looks
inside the engine to learn what happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import Final, NamedTuple

from models.decode import Reason, Rejection
from models.outputs import ChurnAlert
from state.mrr import Change


class Status(IntEnum):
    APPLIED = 0
    """The event went through the order of work and applied (it may still change nothing)."""
    DUPLICATE = 1
    """A remembered event id: skipped, counted in `duplicates`."""
    REJECTED = 2
    """A dead letter: invalid, or late (`rejection` says why)."""


LATE: Final = Rejection(
    Reason.LATE, "occurred_at is older than the allowed lateness behind stream time"
)


class Outcome(NamedTuple):
    """Built once by the engine for one message (or one advance of time); immutable.

    A named tuple because one is built per event: the engine's hot path builds it
    with `tuple.__new__`, several times cheaper than a dataclass's `__init__`."""

    status: Status
    groups: int
    """`state.figures.Group` bits of the figures that may have changed."""
    rejection: Rejection | None = None
    event_id: str | None = None
    """The valid event's id (the cause of the metric changes it brings)."""
    account_id: str | None = None
    """The valid event's account."""
    alerts: Sequence[ChurnAlert] = ()
    """Account alerts raised while the message applied (timers that fell due included)."""
    movements: Sequence[Change] = ()
    """Every MRR movement it made, in order."""
