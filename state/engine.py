"""The metric engine: applies one validated event to the state of one partition.

Plain Python, no framework and no I/O. Both shells (the embedded replay and the
Faust worker) reach it through `state.pipeline`, in delivery order, and read
figures through `state.figures`. Every step follows METRICS.md "Order of work";
the readings of open points are in docs/DECISIONS.md. What a message did comes
back as an `Outcome`; nothing the shells need is left in the engine to be fished out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from models.decode import Rejection
from models.events import (
    Activity,
    AnyEvent,
    Cancellation,
    Payment,
    PaymentKind,
    PaymentStatus,
    Signup,
    Survey,
)
from models.outputs import ChurnAlert
from state.activity import activity_book
from state.alerts import DayClose, day_close
from state.clock import (
    EPOCH,
    ONE_US,
    US_PER_DAY,
    add_interval,
    day_to_date,
    days,
    iso_utc,
    to_micros,
)
from state.config import EngineConfig
from state.dedupe import SeenIds
from state.figures import Group, Partial, Value, figures_at
from state.money import ZERO, monthly_amount
from state.mrr import Account, Change, MrrBook
from state.nps import NpsBook
from state.outcome import LATE, Outcome, Status
from state.signups import signup_book
from state.timers import TimerKind, TimerQueue

_DEFAULT = EngineConfig()


class Engine:
    __slots__ = (
        "_alerts",
        "_day",
        "_grace",
        "_handlers",
        "_keep_days",
        "_keep_nps_days",
        "_lateness",
        "_lateness_days",
        "_moves",
        "_rates",
        "_usage_drop",
        "activity",
        "alert_rules",
        "config",
        "day_closes",
        "dead_letters",
        "duplicates",
        "events",
        "ledger",
        "nps",
        "seen",
        "signups",
        "stream_time",
        "timers",
        "windows",
    )  # fmt: skip

    def __init__(self, config: EngineConfig = _DEFAULT) -> None:
        self.config = config
        self.windows = config.windows
        self._lateness_days = config.lateness_days
        self._lateness = days(config.lateness_days)
        self._grace = days(config.lapse_grace_days)
        self._rates = config.fx_rates
        self._keep_days = config.window_days + config.lateness_days + 1
        self._keep_nps_days = config.nps_window_days + config.lateness_days + 1
        self.ledger = MrrBook()
        self.activity = activity_book()
        self.nps = NpsBook()
        self.signups = signup_book()
        self.seen = SeenIds()
        self.timers = TimerQueue()
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
        """Day -> the additive sides of the globally alerted figures when that day closed."""
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

    def reject(self, rejection: Rejection) -> Outcome:
        """Step 1: a message that failed validation is counted as a dead letter."""
        self.dead_letters += 1
        return Outcome(Status.REJECTED, Group.COUNTERS, rejection)

    def apply(self, event: AnyEvent) -> Outcome:
        """Steps 2-6 of the order of work for one valid event."""
        at = (event.occurred_at - EPOCH) // ONE_US
        now = self.stream_time
        if now is not None and at < now - self._lateness:
            self.dead_letters += 1
            return Outcome(Status.REJECTED, Group.COUNTERS, LATE, event.event_id, event.account_id)
        seen = self.seen
        event_id = event.event_id
        if event_id in seen.day_of_id:
            self.duplicates += 1
            return Outcome(Status.DUPLICATE, Group.COUNTERS, None, event_id, event.account_id)
        day = at // US_PER_DAY
        seen.day_of_id[event_id] = day
        seen.arrivals.append(event_id)
        self.events += 1
        changed = Group.COUNTERS
        if now is None or at > now:
            if self._day is not None and day > self._day:
                self._close_days_before(day)
            self.stream_time = now = at
            if day != self._day:
                self._forget_old_days(day)
                changed = Group.ALL
        heap = self.timers.heap
        if heap and heap[0][0] <= now:
            changed |= self._fire_due()
        changed |= self._handlers[type(event)](event, at)
        if heap and heap[0][0] <= now:
            changed |= self._fire_due()
        return self._outcome(changed, event_id, event.account_id)

    def advance_to(self, moment: int) -> Outcome:
        """Move stream time to `moment` (µs) without an event, firing what falls due."""
        now = self.stream_time
        if now is not None and moment <= now:
            return Outcome(Status.APPLIED, 0)
        if self._day is not None and moment // US_PER_DAY > self._day:
            self._close_days_before(moment // US_PER_DAY)
        self.stream_time = moment
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
        """Drop the day closes the global alerts have walked past (they are never read again)."""
        for old in [d for d in self.day_closes if d < day]:
            del self.day_closes[old]

    def restore_day(self) -> None:
        """Re-derive the current day after `stream_time` was set from a checkpoint."""
        self._day = self.day

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
            movement_days=self.ledger.days,
            activity_days=self.activity.by_day,
            nps_days=self.nps.by_day,
            signup_days=self.signups.by_day,
            events=self.events,
            duplicates=self.duplicates,
            dead_letters=self.dead_letters,
        )

    def figures(self, groups: int = Group.ALL) -> dict[str, Value]:
        return figures_at([self.partial()], self.day, self.windows, groups)

    def snapshot(self) -> dict[str, Value | str]:
        """Every figure of METRICS.md, plus `as_of` (stream time) and `day`."""
        now, day = self.stream_time, self.day
        head: dict[str, Value | str] = {
            "as_of": None if now is None else iso_utc(now),
            "day": None if day is None else day_to_date(day).isoformat(),
        }
        return head | self.figures()

    # -- time ---------------------------------------------------------------------

    def _forget_old_days(self, today: int) -> None:
        self._day = today
        kept_from, nps_kept_from = self.kept_from()
        self.ledger.forget_days_before(kept_from)
        self.activity.forget_days_before(kept_from)
        self.signups.forget_days_before(kept_from)
        self.nps.forget_days_before(nps_kept_from)
        self.seen.forget_days_before(today - self._lateness_days)

    def _close_days_before(self, day: int) -> None:
        """Record each day that closes before `day`, after the timers due within it fired."""
        assert self._day is not None and self.stream_time is not None
        for closing in range(self._day, day):
            self._fire_due(until=(closing + 1) * US_PER_DAY - 1)
            self.day_closes[closing] = day_close([self.partial()], closing, self.windows)

    def _fire_due(self, until: int | None = None) -> int:
        now = self.stream_time if until is None else until
        assert now is not None
        changed = 0
        while (timer := self.timers.next_due(now)) is not None:
            at, _, kind, account_id = timer
            account = self.ledger.accounts[account_id]
            if kind is TimerKind.USAGE:
                self._check_usage(account_id, account, at)
                continue
            if kind is TimerKind.CANCELLATION:
                if account.cancel_effective_at != at:
                    continue
                account.cancel_requested_at = account.cancel_effective_at = None
                reason = "cancelled"
            elif account.paid_through is None or account.paid_through + self._grace != at:
                continue
            else:
                reason = "lapsed"
            changed |= self._set_mrr(account_id, account, ZERO, at // US_PER_DAY, at, reason)
        return changed

    def _check_usage(self, account_id: str, account: Account, at: int) -> None:
        account.usage_check_at = None
        if account.last_active is None:
            return
        due = account.last_active + self._usage_drop
        if due > at:
            account.usage_check_at = due
            self.timers.schedule(due, TimerKind.USAGE, account_id)
        else:
            alert = self.alert_rules.usage_drop(account_id, account, at)
            if alert is not None:
                self._alerts.append(alert)

    # -- events ---------------------------------------------------------------------

    def _set_mrr(
        self, account_id: str, account: Account, after: Any, day: int, at: int, cause: str
    ) -> int:
        """Set an account's MRR; `cause` is the event id, or why it churned without one."""
        change = self.ledger.set_mrr(account_id, account, after, day)
        if change is None:
            return 0
        self._moves.append(change)
        rules = self.alert_rules
        if change.after == 0:
            self._alerts.append(rules.churned(change, at, cause))
        elif (alert := rules.downgrade(change, at, cause)) is not None:
            self._alerts.append(alert)
        return Group.MRR

    def _is_stale(self, account: Account, at: int) -> bool:
        return account.changed_at is not None and at < account.changed_at

    def _payment(self, event: Payment, at: int) -> int:
        if (
            event.status is not PaymentStatus.SUCCEEDED
            or event.kind is not PaymentKind.SUBSCRIPTION
        ):
            if (
                event.status is PaymentStatus.FAILED
                and event.kind is PaymentKind.SUBSCRIPTION
                and (account := self.ledger.accounts.get(event.account_id)) is not None
                and (
                    alert := self.alert_rules.payment_failed(
                        event.account_id, account, event.event_id, at, event.amount, event.currency
                    )
                )
                is not None
            ):
                self._alerts.append(alert)
            return 0
        account = self.ledger.account(event.account_id)
        if self._is_stale(account, at):
            return 0
        account.changed_at = at
        if event.plan is not None:
            account.plan = event.plan
        requested = account.cancel_requested_at
        if requested is not None and at > requested:
            account.cancel_requested_at = account.cancel_effective_at = None
        account.paid_through = add_interval(at, event.interval, event.interval_count)
        if self._grace:
            self.timers.schedule(
                account.paid_through + self._grace, TimerKind.LAPSE, event.account_id
            )
        monthly = monthly_amount(
            event.amount, event.currency, event.interval, event.interval_count, self._rates
        )
        return self._set_mrr(
            event.account_id, account, monthly, at // US_PER_DAY, at, event.event_id
        )

    def _cancellation(self, event: Cancellation, at: int) -> int:
        account = self.ledger.account(event.account_id)
        if self._is_stale(account, at):
            return 0
        account.changed_at = at
        effective = at if event.effective_at is None else to_micros(event.effective_at)
        assert self.stream_time is not None
        if effective <= self.stream_time:
            account.cancel_requested_at = account.cancel_effective_at = None
            return self._set_mrr(
                event.account_id, account, ZERO, effective // US_PER_DAY, at, "cancelled"
            )
        account.cancel_requested_at = at
        account.cancel_effective_at = effective
        self.timers.schedule(effective, TimerKind.CANCELLATION, event.account_id)
        if account.mrr > 0:
            self._alerts.append(
                self.alert_rules.cancellation_scheduled(
                    event.account_id, account, event.event_id, at, effective
                )
            )
        return 0

    def _signup(self, event: Signup, at: int) -> int:
        account = self.ledger.account(event.account_id)
        if account.plan is None and event.plan is not None:
            account.plan = event.plan
        return Group.SIGNUPS if self.signups.record(event.account_id, at // US_PER_DAY) else 0

    def _activity(self, event: Activity, at: int) -> int:
        account = self.ledger.accounts.get(event.account_id) or self.ledger.account(
            event.account_id
        )
        if account.last_active is None or at > account.last_active:
            account.last_active = at
            if account.usage_check_at is None:
                account.usage_check_at = at + self._usage_drop
                self.timers.schedule(account.usage_check_at, TimerKind.USAGE, event.account_id)
        user = (event.account_id, event.user_id)
        return Group.ACTIVITY if self.activity.record(user, at // US_PER_DAY) else 0

    def _survey(self, event: Survey, at: int) -> int:
        respondent = (event.account_id, event.user_id)
        if not self.nps.respond(respondent, at, at // US_PER_DAY, event.score):
            return 0
        account = self.ledger.account(event.account_id)
        if account.last_score_at is None or at >= account.last_score_at:
            account.last_score_at = at
            account.last_score = event.score
            alert = self.alert_rules.detractor(
                event.account_id, account, event.event_id, at, event.user_id, event.score
            )
            if alert is not None:
                self._alerts.append(alert)
        return Group.NPS
