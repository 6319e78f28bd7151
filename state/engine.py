"""The metric engine: applies one validated event to the state of one partition.

Plain Python, no framework and no I/O. Both shells (the embedded replay and the
Faust worker) reach it through `state.pipeline`, in delivery order, and read
figures through `state.figures`. This module holds METRICS.md's "Order of work"
and the passing of time (day closes, forgetting, gaps); what one event or timer
changes is in state/event_rules.py. What a message did comes back as an `Outcome`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from models.decode import Reason, Rejection
from models.events import (
    EPOCH_AS_PARSED,
    Activity,
    AnyEvent,
    Cancellation,
    Payment,
    Signup,
    Survey,
)
from models.outputs import ChurnAlert
from state.activity import ActivityBook
from state.alerts import DayClose, day_close
from state.clock import ONE_US, US_PER_DAY, US_PER_SECOND, day_to_date, days, iso_utc
from state.config import EngineConfig
from state.day_history import DayHistory
from state.day_rows import DaySides
from state.dedupe import SeenIds
from state.event_rules import EventRules
from state.figures import (
    Group,
    Partial,
    Value,
    activity_counts,
    figures_at,
    nps_counts,
)
from state.history import partial_sides
from state.months import MonthBook
from state.mrr import Change, MrrBook
from state.nps import NpsBook
from state.outcome import LATE, Outcome, Status
from state.signups import signup_book
from state.tally import Tally
from state.timers import TimerQueue

FUTURE: Final = Rejection(
    Reason.FUTURE, "occurred_at is too far ahead of the time the message was recorded"
)
_DEFAULT = EngineConfig()
_VOLUME: Final = frozenset({Activity, Survey})
"""Event types whose ids are remembered for `dedupe_hours` of stream time (METRICS.md)."""
_QUIET: Final = DayClose(0, 0, 0, 0, 0)
_APPLIED: Final = Status.APPLIED
_new_outcome: Final = tuple.__new__


class Engine(EventRules):
    __slots__ = (
        "_alerts",
        "_day",
        "_dedupe",
        "_grace",
        "_handlers",
        "_keep_days",
        "_keep_nps_days",
        "_last_close",
        "_lateness",
        "_lateness_days",
        "_max_future",
        "_moves",
        "_quiet_after",
        "_rates",
        "_usage_drop",
        "activity",
        "alert_rules",
        "config",
        "day_closes",
        "dead_letters",
        "duplicates",
        "events",
        "history",
        "ledger",
        "months",
        "nps",
        "seen",
        "signups",
        "stream_time",
        "timers",
        "touched",
        "windows",
    )  # fmt: skip

    def __init__(self, config: EngineConfig = _DEFAULT) -> None:
        self.config = config
        self.windows = config.windows
        self._lateness_days = config.lateness_days
        self._lateness = days(config.lateness_days)
        self._grace = days(config.lapse_grace_days)
        self._rates = config.fx_rates
        self._max_future = config.max_future_seconds * US_PER_SECOND
        self._dedupe = config.dedupe_hours * 3600 * US_PER_SECOND
        self._keep_days = config.window_days + config.lateness_days + 1
        self._keep_nps_days = config.nps_window_days + config.lateness_days + 1
        self._quiet_after = max(config.window_days, config.nps_window_days)
        self.ledger = MrrBook()
        self.months = MonthBook()
        self.history = DayHistory(config.history_days)
        self.activity = ActivityBook(
            config.window_days, config.window_days + config.lateness_days, self.history.open
        )
        self.nps = NpsBook(config.nps_window_days, self.history.open)
        self.signups = signup_book()
        self.seen = SeenIds(self._dedupe)
        self.timers = TimerQueue()
        self.touched: set[str] = set()
        """Accounts an event or a timer may have changed since the last checkpoint took them."""
        self.stream_time: int | None = None
        self._day: int | None = None
        self.events = 0
        self.duplicates = 0
        self.dead_letters = 0
        self.alert_rules = config.alert_rules
        self._usage_drop = days(config.alert_rules.usage_drop_days)
        self._alerts: list[ChurnAlert] = []
        """Raised since the current message began (handed out in its `Outcome`)."""
        self._moves: list[Change] = []
        """Movements made since the current message began (handed out in its `Outcome`)."""
        self.day_closes: dict[int, DayClose] = {}
        """The additive sides of the globally alerted figures when a day closed, recorded
        only on the days they changed: a day without an entry has the close of the last
        day before it that has one (none before the first: all zero)."""
        self._last_close: DayClose = _QUIET
        self._handlers: dict[type[Any], Callable[[Any, int], int]] = {
            Signup: self._signup,
            Payment: self._payment,
            Cancellation: self._cancellation,
            Activity: self._activity,
            Survey: self._survey,
        }

    @property
    def day(self) -> int | None:
        return None if self.stream_time is None else self.stream_time // US_PER_DAY

    @property
    def final_through(self) -> int | None:
        """The last day whose row is final (past the lateness): `history.final` holds every
        row up to it."""
        day = self.day
        return None if day is None else day - self._lateness_days - 2

    def reject(self, rejection: Rejection) -> Outcome:
        """Step 1: a message that failed validation is counted as a dead letter."""
        self.dead_letters += 1
        return Outcome(Status.REJECTED, Group.COUNTERS, rejection)

    def apply(self, event: AnyEvent, recorded_at: int | None = None) -> Outcome:
        """Steps 2-7 of the order of work for one valid event; `recorded_at` (µs) is the
        time the message was recorded (the Kafka record timestamp), None when unknown."""
        at = (event.occurred_at - EPOCH_AS_PARSED) // ONE_US
        event_id, account_id = event.event_id, event.account_id
        if recorded_at is not None and at - recorded_at > self._max_future:
            self.dead_letters += 1
            return Outcome(Status.REJECTED, Group.COUNTERS, FUTURE, event_id, account_id)
        now = self.stream_time
        if now is not None and at < now - self._lateness:
            self.dead_letters += 1
            return Outcome(Status.REJECTED, Group.COUNTERS, LATE, event_id, account_id)
        seen = self.seen
        kind = type(event)
        day = at // US_PER_DAY
        if now is None or at > now:
            later, applied = True, at
        else:
            later, applied = False, now
        if not seen.admit(account_id, event_id, now, kind in _VOLUME, applied, day):
            self.duplicates += 1
            return Outcome(Status.DUPLICATE, Group.COUNTERS, None, event_id, account_id)
        self.events += 1
        changed = Group.COUNTERS
        if later:
            if now is None:
                self.history.first_day = day
            elif day > self._day:  # type: ignore[operator]
                self._close_days_before(day, 1)
            self.stream_time = at
            if at - self._dedupe >= seen.volume_forget_at:
                seen.forget_volume_through(at - self._dedupe)
            if day != self._day:
                self._forget_old_days(day)
                changed = Group.ALL
        elif day < self._day:  # type: ignore[operator]
            self.history.revised_by = event_id
        heap = self.timers.heap
        if heap and heap[0][0] <= applied:
            changed |= self._fire_due()
        changed |= self._handlers[kind](event, at)
        self.touched.add(account_id)
        if heap and heap[0][0] <= applied:
            changed |= self._fire_due()
        if self._alerts or self._moves:
            return self._outcome(changed, event_id, account_id)
        return _new_outcome(Outcome, (_APPLIED, changed, None, event_id, account_id, (), ()))

    def advance_to(self, moment: int) -> Outcome:
        """Move stream time to `moment` (µs) without an event, firing what falls due."""
        now = self.stream_time
        if now is not None and moment <= now:
            return Outcome(Status.APPLIED, 0)
        if self._day is not None and moment // US_PER_DAY > self._day:
            self._close_days_before(moment // US_PER_DAY, 0)
        self.stream_time = moment
        self.seen.forget_volume_through(moment - self._dedupe)
        changed = 0
        if moment // US_PER_DAY != self._day:
            self._forget_old_days(moment // US_PER_DAY)
            changed = Group.ALL
        return self._outcome(changed | self._fire_due(), None, None)

    def _outcome(self, changed: int, event_id: str | None, account_id: str | None) -> Outcome:
        alerts, moves = self._alerts, self._moves
        if not alerts and not moves:
            return Outcome(Status.APPLIED, changed, None, event_id, account_id)
        outcome = Outcome(
            Status.APPLIED, changed, None, event_id, account_id, tuple(alerts), tuple(moves)
        )
        alerts.clear()
        moves.clear()
        return outcome

    def forget_closes_before(self, day: int) -> None:
        """Drop the day closes the global alerts have walked past; the last one before `day`
        stays, as it still holds for the days after it."""
        old = sorted(d for d in self.day_closes if d < day)
        for gone in old[:-1]:
            del self.day_closes[gone]

    def restore_day(self) -> None:
        """Re-derive the current day after `stream_time` was set from a checkpoint."""
        self._day = self.day
        if self.day_closes:
            self._last_close = self.day_closes[max(self.day_closes)]

    def id_horizons(self) -> tuple[int | None, int | None]:
        """(the first day whose billing ids are remembered, the stream time at or before which
        activity and survey ids were forgotten); None before the first event."""
        now, day = self.stream_time, self.day
        if now is None or day is None:
            return None, None
        return day - self._lateness_days, now - self._dedupe

    def kept_from(self) -> tuple[int, int]:
        """First day still kept in the histograms: (activity and signups, NPS)."""
        today = self.day
        if today is None:
            return (0, 0)
        return today - self._keep_days, today - self._keep_nps_days

    def partial(self) -> Partial:
        return Partial(
            mrr=self.ledger.mrr,
            paying=self.ledger.paying,
            subscriptions=self.ledger.subscriptions,
            seats=self.ledger.seats,
            movement_days=self.ledger.days,
            activity_days=self.activity.by_day,
            nps_days=self.nps.by_day,
            signup_days=self.signups.by_day,
            tallies=self.history.open,
            first_day=self.history.first_day,
            months=self.months.months,
            cohorts=self.months.cohorts,
            events=self.events,
            duplicates=self.duplicates,
            dead_letters=self.dead_letters,
        )

    def figures(self, groups: int = Group.ALL) -> dict[str, Value]:
        return figures_at([self.partial()], self.day, self.windows, groups)

    def snapshot(self) -> dict[str, Value | str]:
        """Every figure of METRICS.md, plus `as_of` (stream time), `day` and the `currency`
        of its money."""
        now, day = self.stream_time, self.day
        head: dict[str, Value | str] = {
            "as_of": None if now is None else iso_utc(now),
            "day": None if day is None else day_to_date(day).isoformat(),
            "currency": self.config.reporting_currency,
        }
        return head | self.figures()

    # -- time ---------------------------------------------------------------------

    def _forget_old_days(self, today: int) -> None:
        self._day = today
        kept_from, nps_kept_from = self.kept_from()
        self._finalize_days_before(today - self._lateness_days - 1)
        self.ledger.forget_days_before(kept_from)
        self.activity.forget_days_before(kept_from)
        self.signups.forget_days_before(kept_from)
        self.nps.forget_days_before(nps_kept_from)
        self.seen.forget_billing_before(today - self._lateness_days)

    def _finalize_days_before(self, day: int) -> None:
        """Open days before `day` are past the lateness: their rows become final, while the
        buckets they read from are still kept."""
        history = self.history
        closing = sorted(d for d in history.open if d < day)
        if closing:
            part = self.partial()
            for closed in closing:
                history.finalize(closed, self._sides_at(part, closed, history.open[closed]))
        history.forget_before(day - self.config.history_days)

    def _sides_at(self, part: Partial, day: int, tally: Tally) -> DaySides:
        """A closed day's sides: MRR and signups from the kept buckets (the state rewound
        to the end of `day`), activity, NPS and counters from its tally."""
        return partial_sides(part, day, self.windows, tally)

    def day_sides(self) -> dict[int, DaySides]:
        """Every day's sides this partition has: final rows, open days, and today as it
        stands (a day without a row has the row of the last day before it)."""
        rows = dict(self.history.final)
        today = self.day
        if today is None:
            return rows
        part = self.partial()
        for day, tally in self.history.open.items():
            rows[day] = self._sides_at(part, day, tally)
        rows[today] = self._sides_at(part, today, self._tally(part, today, 0))
        return rows

    def _tally(self, part: Partial, day: int, counted: int) -> Tally:
        windows = self.windows
        return Tally(
            *activity_counts([part], day, windows.window_days),
            *nps_counts([part], day, windows.nps_window_days),
            self.events - counted, self.duplicates, self.dead_letters,
        )  # fmt: skip

    def _close_days_before(self, day: int, counted: int) -> None:
        """Record the close of each day before `day`, after the timers due within it fired,
        and its tally (`counted`: the message now being applied, already in `events`, is
        not the closed day's).

        METRICS.md "Gaps": once every kept bucket is out of both windows, the close
        cannot change until the next timer falls due, so those days are skipped: a
        jump of stream time costs the kept days and the timers, not the gap's length. A
        skipped day has no row of its own; those the lateness still reaches get a copy of
        the last one, for late events to revise.
        """
        assert self._day is not None and self.stream_time is not None
        closing = self._day
        open_rows = self.history.open
        tally = None
        while closing < day:
            self._fire_due(until=(closing + 1) * US_PER_DAY - 1)
            part = self.partial()
            close = day_close([part], closing, self.windows)
            if close != self._last_close:
                self.day_closes[closing] = self._last_close = close
            tally = open_rows[closing] = self._tally(part, closing, counted)
            closing += 1
            if closing < day and closing > self._quiet_from():
                heap = self.timers.heap
                next_timer_day = heap[0][0] // US_PER_DAY if heap else day
                skipped_to = max(closing, min(next_timer_day, day))
                for skipped in range(max(closing, day - self._lateness_days - 1), skipped_to):
                    open_rows[skipped] = Tally(*tally.to_list())
                closing = skipped_to

    def _quiet_from(self) -> int:
        """The last day any figure still moves on without an event: after it every kept
        bucket is out of its window (what the day closes and the tallies read)."""
        never = -(10**9)
        ledger_nps = max(max(self.ledger.days, default=never), max(self.nps.by_day, default=never))
        people = max(
            max(self.activity.by_day, default=never), max(self.signups.by_day, default=never)
        )
        return max(ledger_nps + self._quiet_after, people + self.windows.window_days)
