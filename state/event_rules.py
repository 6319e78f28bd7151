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
from state.mrr import Account, Change, MrrBook, Subscription
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
            changed |= self._end_due(account_id, account, at)
        return changed

    def _end_due(self, account_id: str, account: Account, at: int) -> int:
        """Every subscription of the account whose scheduled end or lapse falls at `at`
        ends, in one movement (BILLING.md "One instant, one movement"); a timer that finds
        none (replaced, withdrawn, or ended by another timer of the instant) does nothing."""
        grace, cancelled, lapsed = self._grace, False, False
        counts = account.counts
        for sub in account.subscriptions.values():
            if sub.cancel_effective_at == at:
                sub.cancel_requested_at = sub.cancel_effective_at = None
                sub.monthly, cancelled = ZERO, True
            elif sub.paid_through is not None and sub.paid_through + grace == at and grace:
                sub.monthly, lapsed = ZERO, True
        if not (cancelled or lapsed):
            return 0
        if not any(s.cancel_effective_at is not None for s in account.subscriptions.values()):
            account.open_alerts &= ~_SCHEDULED
        reason = "cancelled" if cancelled else "lapsed"
        return self._settle(account_id, account, counts, at // US_PER_DAY, at, reason)

    def _settle(
        self, account_id: str, account: Account, counts: tuple[int, int], day: int, at: int,
        cause: str,
    ) -> int:  # fmt: skip
        """The account's MRR after its subscriptions changed, as one movement."""
        change, moved = self.ledger.settle(account_id, account, counts, day)
        if change is None:
            return Group.MRR if moved else 0
        return self._moved(account, change, at, cause)

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
        return self._moved(account, change, at, cause)

    def _moved(self, account: Account, change: Change, at: int, cause: str) -> int:
        """What one movement of an account's MRR records and raises."""
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
        account_id = event.account_id
        account = self.ledger.account(account_id)
        sid = event.subscription_id or account_id
        sub = account.subscriptions.get(sid)
        if _is_stale(account, sub, at):
            return 0
        if sub is None:
            sub = account.subscriptions[sid] = Subscription()
        counts = account.counts
        sub.changed_at = at
        account.open_alerts &= ~_FAILED
        if event.plan is not None:
            account.plan = sub.plan = event.plan
        requested = sub.cancel_requested_at
        if requested is not None and at > requested:
            sub.cancel_requested_at = sub.cancel_effective_at = None
            if not account.scheduled:
                account.open_alerts &= ~_SCHEDULED
        sub.paid_through = add_interval(at, event.interval, event.interval_count)
        if self._grace and sub.paid_through is not None:
            self.timers.schedule(sub.paid_through + self._grace, TimerKind.LAPSE, account_id)
        amount = event.amount - event.tax_amount if event.tax_amount else event.amount
        sub.monthly = monthly_amount(
            amount, event.currency, event.interval, event.interval_count, self._rates
        )
        sub.quantity = event.quantity
        return self._settle(account_id, account, counts, at // US_PER_DAY, at, event.event_id)

    def _cancellation(self, event: Cancellation, at: int) -> int:
        """A cancellation of one subscription, or (no `subscription_id`) of every one the
        account has, each under its own stale rule."""
        account_id = event.account_id
        account = self.ledger.account(account_id)
        sid = event.subscription_id
        if sid is None:
            if account.ended_at is not None and at < account.ended_at:
                return 0
            account.ended_at = at
            subs = [s for s in account.subscriptions.values() if not _is_stale(None, s, at)]
        else:
            sub = account.subscriptions.get(sid)
            if _is_stale(account, sub, at):
                return 0
            if sub is None:
                sub = account.subscriptions[sid] = Subscription()
            subs = [sub]
        for sub in subs:
            sub.changed_at = at
        effective = at if event.effective_at is None else to_micros(event.effective_at)
        assert self.stream_time is not None
        if effective <= self.stream_time:
            counts = account.counts
            for sub in subs:
                sub.cancel_requested_at = sub.cancel_effective_at = None
                sub.monthly = ZERO
            if not account.scheduled:
                account.open_alerts &= ~_SCHEDULED
            return self._settle(
                account_id, account, counts, effective // US_PER_DAY, at, "cancelled"
            )
        for sub in subs:
            sub.cancel_requested_at = at
            sub.cancel_effective_at = effective
        if subs or not account.subscriptions:
            self.timers.schedule(effective, TimerKind.CANCELLATION, account_id)
        if account.mrr > 0 and account.scheduled:
            self._raise(
                account,
                self.alert_rules.cancellation_scheduled(
                    account_id, account, event.event_id, at, effective
                ),
            )
        return 0

    def _signup(self, event: Signup, at: int) -> int:
        account = self.ledger.account(event.account_id)
        if account.plan is None and event.plan is not None:
            account.plan = event.plan
        return Group.SIGNUPS if self.signups.record(event.account_id, at // US_PER_DAY) else 0

    def _activity(self, event: Activity, at: int) -> int:
        account_id = event.account_id
        account = self.ledger.accounts.get(account_id) or self.ledger.account(account_id)
        last_active = account.last_active
        if last_active is None or at > last_active:
            account.last_active = at
            if account.open_alerts & _USAGE:
                account.open_alerts &= ~_USAGE
            if account.usage_check_at is None:
                account.usage_check_at = at + self._usage_drop
                self.timers.schedule(account.usage_check_at, TimerKind.USAGE, account_id)
        prefix = account.person_prefix
        if prefix is None:
            prefix = account.person_prefix = person_prefix(account_id)
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


def _is_stale(account: Account | None, sub: Subscription | None, at: int) -> bool:
    """The stale rule (METRICS.md), per subscription: an event dated before the last one
    that changed the subscription, or before the last cancellation of every subscription
    of the account, changes nothing."""
    if account is not None and account.ended_at is not None and at < account.ended_at:
        return True
    return sub is not None and sub.changed_at is not None and at < sub.changed_at
