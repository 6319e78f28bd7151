"""The aggregate's final days: every partition's final day rows, added up once all have them.

A partition's day past the lateness is final (state/day_history.py): nothing can change
it again, so the worker's series for it needs no recomputation, only the partitions'
rows. The partials carry the days a late event can still change; the final rows travel
apart, each sent once per *session* (a session starts with each aggregate that needs
them all: a new worker owning the aggregate, or a read model that lost what it had),
so a catch-up from a backlog, which passes many days between two emits, still gives
every day of the history.

A partition's report says: in session S, all my final rows up to day `through` have
been sent. A day is *due* once every partition has reported through it; it is the sum
of each partition's last row on or before it (a day without a row holds the row of the
last day before it, as in `replay --series`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from state.day_rows import DaySides, daily_sides


def new_session() -> str:
    return secrets.token_hex(8)


@dataclass(frozen=True, slots=True)
class FinalReport:
    """What a partition sends of its final rows: the session it answers, the day through
    which every row of that session has been sent, and the rows of this report."""

    session: str
    through: int | None
    rows: Mapping[int, DaySides]

    def to_json(self) -> dict[str, Any]:
        return {
            "session": self.session,
            "through": self.through,
            "rows": [[day, sides.to_list()] for day, sides in sorted(self.rows.items())],
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> FinalReport:
        rows = {int(day): DaySides.from_list(sides) for day, sides in raw["rows"]}
        return cls(str(raw["session"]), raw["through"], rows)


@dataclass(slots=True)
class FinalSender:
    """One partition's side: which final rows it still owes the aggregate's session."""

    session: str | None = None
    sent_through: int | None = None

    def reports(
        self, session: str | None, final: Mapping[int, DaySides], through: int | None, chunk: int
    ) -> list[FinalReport]:
        """The reports owed to `session` (all rows again for a new one), at most `chunk`
        rows each; nothing before the aggregate has named its session."""
        if session is None:
            return []
        if session != self.session:
            self.session, self.sent_through = session, None
        if through is None or (self.sent_through is not None and through <= self.sent_through):
            return []
        sent = self.sent_through
        owed = sorted(d for d in final if d <= through and (sent is None or d > sent))
        out = []
        for start in range(0, len(owed), chunk):
            days = owed[start : start + chunk]
            last_chunk = start + chunk >= len(owed)
            out.append(
                FinalReport(
                    session, through if last_chunk else days[-1], {d: final[d] for d in days}
                )
            )
        if not out:
            out.append(FinalReport(session, through, {}))
        self.sent_through = through
        return out


@dataclass(slots=True)
class FinalDays:
    """The aggregate's side: each partition's rows of this session, until they are due."""

    partitions: int
    session: str = field(default_factory=new_session)
    rows: dict[int, dict[int, DaySides]] = field(default_factory=dict)
    through: dict[int, int | None] = field(default_factory=dict)
    done_through: int | None = None
    """The last day handed out as due in this session."""

    def restart(self) -> None:
        """A new session: every partition sends every final row again (after the read
        model lost what it had, or the aggregate moved here)."""
        self.session = new_session()
        self.rows.clear()
        self.through.clear()
        self.done_through = None

    def take(self, partition: int, report: FinalReport) -> None:
        """A partition's report; one of another session (sent before a restart) is stale."""
        if report.session != self.session:
            return
        self.rows.setdefault(partition, {}).update(report.rows)
        self.through[partition] = report.through

    def due(self, before: int) -> list[tuple[int, DaySides]]:
        """The days before `before` every partition has reported, not handed out yet,
        oldest first, each with the partitions' sides added up."""
        reported = [self.through.get(p) for p in range(self.partitions)]
        known = [t for t in reported if t is not None]
        if len(known) < self.partitions:
            return []
        last = min(min(known), before - 1)
        if self.done_through is not None:
            first = self.done_through + 1
        else:
            days = [d for rows in self.rows.values() for d in rows]
            if not days:
                return []
            first = min(days)
        if first > last:
            return []
        parts: Sequence[Mapping[int, DaySides]] = [
            self.rows.get(p, {}) for p in range(self.partitions)
        ]
        out = daily_sides(parts, first, last)
        self.done_through = last
        self._forget_through(last)
        return out

    def _forget_through(self, day: int) -> None:
        """Rows on or before `day` are handed out; each partition keeps its last one, which
        still holds for the days after it without a row."""
        for rows in self.rows.values():
            old = sorted(d for d in rows if d <= day)
            for gone in old[:-1]:
                del rows[gone]
