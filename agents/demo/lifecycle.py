"""An account's subscription over time: sign-up, payments, plan changes, churn, comebacks.

Why it exists: these are the events the MRR rules are about, and their order
matters (a renewal on the period's end, a cancellation before the lapse, a
withdrawal before the effective date); drawing them period by period in one
place keeps each account's billing history coherent.
"""

from __future__ import annotations

from collections.abc import Sized
from decimal import Decimal
from random import Random
from typing import Final, Protocol

from agents.demo.billing import (
    ONE_TIME,
    TIER_WEIGHTS,
    TIERS,
    Subscription,
    json_amount,
    taxed,
)
from agents.demo.frame import Frame
from agents.demo.instants import DAY, HOUR, MINUTE, add_interval
from agents.demo.spec import Value

_GRACE: Final = 14 * DAY  # the default lapse grace (METRICS.md)
_TRIAL: Final = 14 * DAY

_CHANNELS: Final = ("organic", "paid_search", "referral", "partner", "content", "outbound")
_CHANNEL_WEIGHTS: Final = (35, 25, 15, 8, 12, 5)

_REASONS: Final = ("price", "competitor", "missing_features", "support", "not_using", "other")
_REASON_WEIGHTS: Final = (30, 18, 20, 7, 20, 5)


class PlannedAccount(Protocol):
    """What a lifecycle needs of the account it plans (`accounts.Account` is one).

    A protocol, so that this module depends on nothing of `accounts`, which
    depends on it: the account hands itself to its lifecycle, which draws from
    its random stream and writes its events and usage spans back through it.
    """

    @property
    def frame(self) -> Frame: ...
    @property
    def rng(self) -> Random: ...
    @property
    def trial(self) -> bool: ...
    @property
    def health(self) -> float: ...
    @property
    def offset(self) -> int: ...
    @property
    def suffix(self) -> str: ...
    @property
    def users(self) -> Sized: ...
    @property
    def spans(self) -> list[list[int]]: ...

    def base(self, kind: str, t: int) -> Value:
        """A new event's common fields: its id, when it occurred, and the account."""
        ...

    def add(self, t: int, topic: str, value: Value) -> None:
        """Keep a planned event, when it falls inside the simulated period."""
        ...


class Lifecycle:
    """Draws an account's sign-up, payments and cancellations, period by period.

    Each billing period ends in one fate: renewal (sometimes after a failed
    charge), a plan change mid-period, a cancellation now or at period end (some
    withdrawn by a later payment), or failed charges and a lapse. A churned
    account may come back later. Usage spans follow: usage stops some days before
    the account churns.
    """

    __slots__ = ("account", "first_paid", "rng", "streak_ends", "sub", "subscription_id")

    def __init__(
        self, account: PlannedAccount, subscription: Subscription, subscription_id: str | None
    ) -> None:
        self.account = account
        self.rng = account.rng
        self.sub = subscription
        self.subscription_id = subscription_id
        """The plan's subscription id on its payments (None: the account's one)."""
        self.first_paid: int | None = None
        self.streak_ends: list[int] = []
        """When each paying streak ended for good (cancelled or lapsed)."""

    def plan(self, signup: int) -> None:
        account, rng = self.account, self.rng
        self._signup(signup)
        if account.trial and rng.random() < 0.45:
            self._trial_only(signup)
            return
        if account.trial:  # converts at the end of the trial
            first = signup + _TRIAL + int(rng.random() * 6 * HOUR)
        else:
            first = signup + MINUTE + int(rng.random() * 30 * MINUTE)
        account.spans.append([signup, account.frame.end])
        self.first_paid = first
        self._subscribe(first)

    def _signup(self, t: int) -> None:
        account, rng = self.account, self.rng
        value = account.base("sig", t)
        value["user_id"] = "u1"
        value["plan"] = self.sub.plan()
        if account.trial or rng.random() < 0.3:
            value["trial"] = account.trial
        value["channel"] = rng.choices(_CHANNELS, _CHANNEL_WEIGHTS)[0]
        account.add(t, "signups", value)
        if len(account.users) > 1 and rng.random() < 0.04:  # a colleague signs up into it too
            later = t + int(rng.random() * 3 * DAY)
            again = account.base("sig", later)
            again["user_id"] = "u2"
            account.add(later, "signups", again)

    def _trial_only(self, signup: int) -> None:
        """A trial that never pays: used for a while, sometimes cancelled explicitly."""
        account, rng = self.account, self.rng
        stop = signup + int(rng.random() * (_TRIAL + 5 * DAY))
        account.spans.append([signup, stop])
        if rng.random() < 0.15:
            self._cancel(stop + int(rng.random() * DAY), None, "not_using")

    def _subscribe(self, t: int) -> None:
        """Billing periods from `t` until the account churns for good or time runs out."""
        end = self.account.frame.end
        while t < end:
            self._pay(t, self.sub.price())
            nxt = self._period(t)
            if nxt is None:
                return
            t = nxt

    def _period(self, t: int) -> int | None:
        """The fate of the period paid at `t`: the next subscription payment's time, or None."""
        rng, sub = self.rng, self.sub
        period_end = add_interval(t, sub.billing.interval, sub.billing.count)
        months = sub.billing.months
        monthly_churn = 0.02 + 0.1 * (1 - self.account.health) ** 2
        churn = 1 - (1 - monthly_churn) ** months
        change = min(0.5, 0.075 * months)
        self._maybe_one_time(t, period_end)
        draw = rng.random()
        if draw < churn:
            return self._churn(t, period_end)
        if draw < churn + change:
            return self._change(t, period_end)
        if rng.random() < 0.05:  # the renewal charge fails, a retry succeeds within the grace
            self._pay(period_end, sub.price(), status="failed")
            return period_end + int((1 + 5 * rng.random()) * DAY)
        return period_end

    def _change(self, t: int, period_end: int) -> int:
        """An upgrade or a downgrade mid-period: a payment of the new price starts a new period."""
        rng = self.rng
        if rng.random() < 0.38:
            if not self._contract():  # nothing to cut: the customer grows instead
                self._expand()
        elif not self._expand():
            self._contract()
        return t + int((0.1 + 0.85 * rng.random()) * (period_end - t))

    def _expand(self) -> bool:
        """More seats, or the next tier up; False when already at the top."""
        rng, sub = self.rng, self.sub
        room = TIERS[sub.tier].max_units - sub.units
        if room > 0 and (rng.random() < 0.6 or sub.tier + 1 == len(TIERS)):
            sub.units += 1 + int(rng.random() * room)
            return True
        if sub.tier + 1 < len(TIERS):
            sub.tier += 1
            sub.units = min(sub.units, TIERS[sub.tier].max_units)
            return True
        return False

    def _contract(self) -> bool:
        """Fewer seats (a moderate cut), or a lower tier (a cut of 50 % or more)."""
        rng, sub = self.rng, self.sub
        if sub.units > 1 and (sub.tier == 0 or rng.random() < 0.7):
            sub.units = sub.units // 2 if rng.random() < 0.25 else sub.units - 1
            return True
        if sub.tier > 0:
            sub.tier = max(0, sub.tier - (2 if rng.random() < 0.3 else 1))
            sub.units = min(sub.units, TIERS[sub.tier].max_units)
            return True
        return False

    def _churn(self, t: int, period_end: int) -> int | None:
        """Cancel now, cancel at period end (maybe withdrawn), or stop paying and lapse."""
        rng = self.rng
        request = t + int((0.1 + 0.85 * rng.random()) * (period_end - t))
        now_weight = 0.3 if self.sub.billing.months == 1 else 0.1
        draw = rng.random()
        if draw < now_weight:
            self.streak_ends.append(request)
            self._cancel(request, request if rng.random() < 0.3 else None, None)
            if rng.random() < 0.2:
                self._pay(
                    request + int(rng.random() * 2 * DAY), self.sub.price(), status="refunded"
                )
            self._stop_usage(request)
            return self._comeback(request)
        if draw < now_weight + 0.45:
            self._cancel(request, period_end, None)
            if rng.random() < 0.35:  # changed their mind: a payment before the period ends
                return request + int((0.2 + 0.6 * rng.random()) * (period_end - request))
            self.streak_ends.append(request)
            self._stop_usage(period_end)
            return self._comeback(period_end)
        self.streak_ends.append(period_end)
        self._fail_and_lapse(period_end)
        self._stop_usage(period_end)
        return self._comeback(period_end + _GRACE)

    def _fail_and_lapse(self, due: int) -> None:
        rng = self.rng
        self._pay(due, self.sub.price(), status="failed")
        for retry in (3, 7):
            if rng.random() < 0.7:
                self._pay(
                    due + retry * DAY + int(rng.random() * HOUR),
                    self.sub.price(),
                    status="failed",
                )

    def _stop_usage(self, churn: int) -> None:
        """Usage stops a few days to three weeks before the churn."""
        span = self.account.spans[-1]
        span[1] = max(span[0], churn - int((3 + 17 * self.rng.random()) * DAY))

    def _comeback(self, churned: int) -> int | None:
        """Some churned accounts return weeks later, maybe on another plan: a reactivation."""
        rng, account = self.rng, self.account
        if rng.random() >= 0.2 + 0.2 * account.health:
            return None
        back = churned + int((14 + 60 * rng.random()) * DAY)
        if back >= account.frame.end:
            return None
        if rng.random() < 0.4:
            self.sub.tier = rng.choices(range(len(TIERS)), TIER_WEIGHTS)[0]
            self.sub.units = min(self.sub.units, TIERS[self.sub.tier].max_units)
        account.spans.append([back - int(rng.random() * 3 * DAY), account.frame.end])
        return back

    def _maybe_one_time(self, t: int, period_end: int) -> None:
        rng = self.rng
        if rng.random() < 0.03:
            when = t + int(rng.random() * (period_end - t))
            amount = rng.choice(ONE_TIME)
            self._pay(when, amount, kind="one_time")
            if rng.random() < 0.2:
                self._pay(
                    when + int((1 + 10 * rng.random()) * DAY),
                    amount,
                    kind="one_time",
                    status="refunded",
                )

    def _pay(
        self, t: int, amount: Decimal, *, status: str = "succeeded", kind: str = "subscription"
    ) -> None:
        account, rng, sub = self.account, self.rng, self.sub
        value = account.base("pay", t)
        billing = account.frame.spec.billing
        charged, tax = taxed(amount, sub.currency) if billing else (amount, amount * 0)
        value["amount"] = json_amount(rng, charged)
        if tax:
            value["tax_amount"] = str(tax)
        value["currency"] = sub.currency
        if status != "succeeded" or rng.random() < 0.7:
            value["status"] = status
        if kind == "subscription":
            value["interval"] = sub.billing.interval
            if sub.billing.count != 1 or rng.random() < 0.3:
                value["interval_count"] = sub.billing.count
            value["plan"] = sub.plan()
            if sub.units > 1 and billing:
                value["quantity"] = sub.units
            if self.subscription_id is not None:
                value["subscription_id"] = self.subscription_id
        else:
            value["kind"] = kind
        account.add(t, "payments", value)

    def _cancel(self, t: int, effective: int | None, reason: str | None) -> None:
        account, rng = self.account, self.rng
        value = account.base("can", t)
        if effective is not None:
            value["effective_at"] = account.frame.stamps.format(
                effective, account.offset, account.suffix
            )
        value["reason"] = reason or rng.choices(_REASONS, _REASON_WEIGHTS)[0]
        if rng.random() < 0.3:
            value["voluntary"] = True
        if rng.random() < 0.15:
            value["comment"] = (
                "switching tools" if value["reason"] == "competitor" else "budget cuts"
            )
        account.add(t, "cancellations", value)
