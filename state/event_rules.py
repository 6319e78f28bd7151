"""What each kind of event, and each time-driven change, does to one partition's state.

METRICS.md "Accounts and MRR" rule by rule: the stale rule, a payment's monthly
amount and `paid_through`, scheduled and immediate cancellations, lapses, and
the account alerts these raise (METRICS.md "Churn alerts"). The order in which
they run is the engine's (state/engine.py); this module only says what one step
changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from models.events import (
    Activity,
    Cancellation,
    Payment,
    PaymentKind,
    PaymentStatus,
    Signup,
    Survey,
)
from models.outputs import ChurnAlert
from state.activity import ActivityBook
from state.alerts import AlertRules, DayClose
from state.clock import US_PER_DAY, add_interval, to_micros
from state.day_index import DayIndex
from state.figures import Group
from state.money import ZERO, monthly_amount
from state.months import MonthBook
from state.mrr import Account, Change, MrrBook
from state.nps import NpsBook
from state.people import person_key, person_prefix
from state.risk import BIT, CLOSED_BY_CHURN, CLOSED_BY_PAYING_AGAIN
from state.timers import TimerKind, TimerQueue

_FAILED = BIT["payment_failed"]
_SCHEDULED = BIT["cancellation_scheduled"]
_DETRACTOR = BIT["detractor"]
_USAGE = BIT["usage_drop"]


class EventRules:
    """The per-event and per-timer rules; mixed into `Engine`, which holds the state."""

    __slots__ = ()

    ledger: MrrBook
    months: MonthBook
    activity: ActivityBook
    _day: int | None
    nps: NpsBook
    signups: DayIndex[str]
    timers: TimerQueue
    touched: set[str]
    stream_time: int | None
    alert_rules: AlertRules
    day_closes: dict[int, DayClose]
    _alerts: list[ChurnAlert]
    _moves: list[Change]
    _grace: int
    _usage_drop: int
    _rates: Mapping[str, Decimal]

    def _raise(self, account: Account, alert: ChurnAlert | None) -> None:
        if alert is not None:
            account.open_alerts |= BIT[alert.rule]
            self._alerts.append(alert)

    def _fire_due(self, until: int | None = None) -> int:
        now = self.stream_time if until is None else until
        assert now is not None
        changed = 0
        while (timer := self.timers.next_due(now)) is not None:
            at, _, kind, account_id = timer
            account = self.ledger.accounts[account_id]
            self.touched.add(account_id)
            if kind is TimerKind.USAGE:
                self._check_usage(account_id, account, at)
                continue
            if kind is TimerKind.CANCELLATION:
                if account.cancel_effective_at != at:
                    continue
                account.cancel_requested_at = account.cancel_effective_at = None
                account.open_alerts &= ~_SCHEDULED
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
            self._raise(account, self.alert_rules.usage_drop(account_id, account, at))

    def _set_mrr(
        self, account_id: str, account: Account, after: Decimal, day: int, at: int, cause: str
    ) -> int:
        """Set an account's MRR; `cause` is the event id, or why it churned without one."""
        change = self.ledger.set_mrr(account_id, account, after, day)
        if change is None:
            return 0
        self._moves.append(change)
        first_paid = account.first_paid
        self.months.record(change, change.streak_start if first_paid is None else first_paid)
        rules = self.alert_rules
        if change.after == 0:
            account.open_alerts &= ~CLOSED_BY_CHURN
            self._raise(account, rules.churned(change, at, cause))
        else:
            if change.after > change.before:
                account.open_alerts &= ~CLOSED_BY_PAYING_AGAIN
            self._raise(account, rules.downgrade(change, at, cause))
        return Group.MRR

    def _is_stale(self, account: Account, at: int) -> bool:
        return account.changed_at is not None and at < account.changed_at

    def _payment(self, event: Payment, at: int) -> int:
        if (
            event.status is not PaymentStatus.SUCCEEDED
            or event.kind is not PaymentKind.SUBSCRIPTION
        ):
            if event.status is PaymentStatus.FAILED and event.kind is PaymentKind.SUBSCRIPTION:
                account = self.ledger.accounts.get(event.account_id)
                if account is not None:
                    self._raise(
                        account,
                        self.alert_rules.payment_failed(
                            event.account_id, account, event.event_id, at, event.amount,
                            event.currency,
                        ),
                    )  # fmt: skip
            return 0
        account = self.ledger.account(event.account_id)
        if self._is_stale(account, at):
            return 0
        account.changed_at = at
        account.open_alerts &= ~_FAILED
        if event.plan is not None:
            account.plan = event.plan
        requested = account.cancel_requested_at
        if requested is not None and at > requested:
            account.cancel_requested_at = account.cancel_effective_at = None
            account.open_alerts &= ~_SCHEDULED
        account.paid_through = add_interval(at, event.interval, event.interval_count)
        if self._grace and account.paid_through is not None:
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
            account.open_alerts &= ~_SCHEDULED
            return self._set_mrr(
                event.account_id, account, ZERO, effective // US_PER_DAY, at, "cancelled"
            )
        account.cancel_requested_at = at
        account.cancel_effective_at = effective
        self.timers.schedule(effective, TimerKind.CANCELLATION, event.account_id)
        if account.mrr > 0:
            self._raise(
                account,
                self.alert_rules.cancellation_scheduled(
                    event.account_id, account, event.event_id, at, effective
                ),
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
            account.open_alerts &= ~_USAGE
            if account.usage_check_at is None:
                account.usage_check_at = at + self._usage_drop
                self.timers.schedule(account.usage_check_at, TimerKind.USAGE, event.account_id)
        prefix = account.person_prefix
        if prefix is None:
            prefix = account.person_prefix = person_prefix(event.account_id)
        return (
            Group.ACTIVITY
            if self.activity.record(prefix + event.user_id, at // US_PER_DAY, self._day)  # type: ignore[arg-type]
            else 0
        )

    def _survey(self, event: Survey, at: int) -> int:
        respondent = person_key(event.account_id, event.user_id)
        if not self.nps.respond(respondent, at, at // US_PER_DAY, event.score, self._day):  # type: ignore[arg-type]
            return 0
        account = self.ledger.account(event.account_id)
        if account.last_score_at is None or at >= account.last_score_at:
            account.last_score_at = at
            account.last_score = event.score
            if event.score > 6:
                account.open_alerts &= ~_DETRACTOR
            self._raise(
                account,
                self.alert_rules.detractor(
                    event.account_id, account, event.event_id, at, event.user_id, event.score
                ),
            )
        return Group.NPS
