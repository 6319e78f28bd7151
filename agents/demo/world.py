"""The world: accounts signing up over the period, emitted a day at a time in event-time order.

Why it exists: this is the entry point (`generate`, `generate_labelled`) and
the scheduler. It seeds the random streams, brings accounts in as they sign
up, keeps an agenda of who has something due each day, and hands the ordered
stream to the traps; memory holds one day of lines plus the accounts' plans.
What the accounts and traps need of the world is its `Frame`, handed down.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from random import Random

from agents.demo.accounts import Account, User
from agents.demo.frame import Frame
from agents.demo.instants import DAY
from agents.demo.spec import Line, WorldSpec
from agents.demo.traps import Traps


def generate(spec: WorldSpec) -> Iterator[Line]:
    """Replay-file lines `{"topic", "key", "value"}`, lazily, in delivery order."""
    for _label, line in generate_labelled(spec):
        yield line


def generate_labelled(spec: WorldSpec) -> Iterator[tuple[str | None, Line]]:
    """Like `generate`, with each line's trap kind (one of `TRAP_KINDS`), or None.

    Tests need the labels to check that a trap is what it claims to be; a bus
    would not carry them, so `generate` leaves them out.
    """
    master = Random(spec.seed)
    trap_rng = Random(master.getrandbits(64))
    world = World(spec, Random(master.getrandbits(64)))
    if not spec.traps:
        for _t, line in world.lines():
            yield None, line
        return
    yield from Traps(world.frame, trap_rng).apply(world.lines())


class World:
    """Accounts that sign up over the period, emitted a day at a time in event-time order."""

    __slots__ = ("frame", "rng")

    def __init__(self, spec: WorldSpec, rng: Random) -> None:
        self.frame = Frame(spec)
        self.rng = rng

    def signup_times(self) -> list[int]:
        """Sign-ups over the period, a growing business: more of them towards the end."""
        frame = self.frame
        span = frame.end - frame.start
        return sorted(
            frame.start + int(span * self.rng.random() ** 0.8) for _ in range(frame.spec.accounts)
        )

    def lines(self) -> Iterator[tuple[int, Line]]:
        """(instant in seconds, line), non-decreasing in the instant.

        A day at a time, from an agenda of who has something due that day: the
        work is proportional to the lines, and only one day of lines is held.
        """
        frame = self.frame
        signups = self.signup_times()
        upcoming = 0
        agenda = Agenda()
        for day in range(frame.start // DAY, frame.end // DAY):
            day_end = (day + 1) * DAY
            while upcoming < len(signups) and signups[upcoming] < day_end:
                account = Account(frame, upcoming, signups[upcoming], self.rng)
                agenda.add(account)
                upcoming += 1
            batch: list[tuple[int, int, int, Line]] = []
            for account in agenda.planned.pop(day, ()):
                account.emit_planned(day_end, batch)
                agenda.plan_next(account)
            for account, user in agenda.active.pop(day, ()):
                account.active_day(user, day, batch)
                agenda.activity_next(account, user, account.next_active_day(user, day))
            batch.sort()  # (t, account, seq) is unique: lines themselves are never compared
            for t, _index, _seq, line in batch:
                yield t, line


class Agenda:
    """Day -> the accounts with planned events that day, and the users active that day."""

    __slots__ = ("active", "planned")

    def __init__(self) -> None:
        self.planned: defaultdict[int, list[Account]] = defaultdict(list)
        self.active: defaultdict[int, list[tuple[Account, User]]] = defaultdict(list)

    def add(self, account: Account) -> None:
        self.plan_next(account)
        for user in account.users:
            self.activity_next(account, user, account.first_active_day(user))

    def plan_next(self, account: Account) -> None:
        if account.fixed:
            self.planned[account.fixed[-1][0] // DAY].append(account)

    def activity_next(self, account: Account, user: User, day: int | None) -> None:
        if day is not None:
            self.active[day].append((account, user))
