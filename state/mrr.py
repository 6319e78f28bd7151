"""Accounts, their MRR, and the MRR movements by the day they take effect.

An account's MRR is assigned, never incremented; every change of it is exactly
one movement (METRICS.md "Movements"). Movements are kept per effect day, and
within a day per *streak start* for the kinds that can belong to the starting
cohort, so that the window figures and the cohort can be evaluated at any day
D: the worker's aggregator evaluates partitions' buckets at the global D.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from state.money import ZERO


class Status(StrEnum):
    PROSPECT = "prospect"
    PAYING = "paying"
    CHURNED = "churned"


class Movement(StrEnum):
    NEW = "new"
    EXPANSION = "expansion"
    CONTRACTION = "contraction"
    CHURN = "churn"
    REACTIVATION = "reactivation"


@dataclass(slots=True)
class Subscription:
    """One subscription of an account (BILLING.md): its own monthly amount, stale rule,
    `paid_through` and scheduled end; the account's MRR is the sum of its subscriptions'."""

    monthly: Decimal = ZERO
    quantity: int = 1
    changed_at: int | None = None
    """`occurred_at` (µs) of the last event that changed it (stale rule)."""
    paid_through: int | None = None
    cancel_requested_at: int | None = None
    cancel_effective_at: int | None = None
    plan: str | None = None

    def to_list(self, subscription_id: str) -> list[Any]:
        return [
            subscription_id, str(self.monthly), self.quantity, self.changed_at,
            self.paid_through, self.cancel_requested_at, self.cancel_effective_at, self.plan,
        ]  # fmt: skip

    @classmethod
    def from_list(cls, raw: list[Any]) -> tuple[str, Subscription]:
        sid, monthly, quantity, changed_at, paid_through, requested, effective, plan = raw
        return sid, cls(
            Decimal(monthly), quantity, changed_at, paid_through, requested, effective, plan
        )


@dataclass(slots=True)
class Account:
    mrr: Decimal = ZERO
    """The sum of its subscriptions' monthly amounts."""
    ever_paid: bool = False
    ended_at: int | None = None
    """`occurred_at` (µs) of the last cancellation of every subscription (without a
    `subscription_id`): an event of any subscription dated before it is stale."""
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    streak_start: int | None = None
    """Day the current (or last) paying streak began."""
    first_paid: int | None = None
    """Day of the account's first payment (its new movement): its cohort (state/months.py)."""
    plan: str | None = None
    last_active: int | None = None
    last_score: int | None = None
    last_score_at: int | None = None
    usage_check_at: int | None = None
    """When a `usage_drop` check is scheduled (at most one per account)."""
    open_alerts: int = 0
    """Bits of the alert rules open on the account (state/risk.py)."""
    person_prefix: str | None = field(default=None, compare=False, repr=False)
    """`state.people.person_prefix` of the account's id, once an activity needed it: derived,
    never checkpointed."""

    @property
    def counts(self) -> tuple[int, int]:
        """(its subscriptions with a monthly amount, their seats), in one pass."""
        active = seats = 0
        for sub in self.subscriptions.values():
            if sub.monthly > 0:
                active += 1
                seats += sub.quantity
        return active, seats

    @property
    def scheduled(self) -> bool:
        """Every subscription with a monthly amount has a scheduled end: the account is
        set to churn."""
        paying = [s for s in self.subscriptions.values() if s.monthly > 0]
        return bool(paying) and all(s.cancel_effective_at is not None for s in paying)

    @property
    def status(self) -> Status:
        if self.mrr > 0:
            return Status.PAYING
        return Status.CHURNED if self.ever_paid else Status.PROSPECT


@dataclass(slots=True)
class CohortMovements:
    """Movements of accounts whose paying streak began on one given day."""

    expansion: Decimal = ZERO
    contraction: Decimal = ZERO
    churned: Decimal = ZERO
    churned_count: int = 0


@dataclass(slots=True)
class Movements:
    """The five movements of a day or a month: amounts (positive) and counts."""

    new: Decimal = ZERO
    new_count: int = 0
    expansion: Decimal = ZERO
    expansion_count: int = 0
    contraction: Decimal = ZERO
    contraction_count: int = 0
    churned: Decimal = ZERO
    churned_count: int = 0
    reactivation: Decimal = ZERO
    reactivation_count: int = 0

    @property
    def net(self) -> Decimal:
        return self.new + self.expansion + self.reactivation - self.contraction - self.churned

    @property
    def net_customers(self) -> int:
        return self.new_count + self.reactivation_count - self.churned_count

    def add(self, other: Movements) -> None:
        self.new += other.new
        self.new_count += other.new_count
        self.expansion += other.expansion
        self.expansion_count += other.expansion_count
        self.contraction += other.contraction
        self.contraction_count += other.contraction_count
        self.churned += other.churned
        self.churned_count += other.churned_count
        self.reactivation += other.reactivation
        self.reactivation_count += other.reactivation_count

    def to_list(self) -> list[str | int]:
        return [
            str(self.new), self.new_count, str(self.expansion), self.expansion_count,
            str(self.contraction), self.contraction_count, str(self.churned),
            self.churned_count, str(self.reactivation), self.reactivation_count,
        ]  # fmt: skip

    @classmethod
    def from_list(cls, raw: list[str | int]) -> Movements:
        return cls(
            Decimal(raw[0]), int(raw[1]), Decimal(raw[2]), int(raw[3]), Decimal(raw[4]),
            int(raw[5]), Decimal(raw[6]), int(raw[7]), Decimal(raw[8]), int(raw[9]),
        )  # fmt: skip


@dataclass(slots=True)
class DayMovements(Movements):
    by_streak_start: dict[int, CohortMovements] = field(default_factory=dict)
    subscriptions: int = 0
    """The change of the active subscriptions on the day (to rewind a past day's count)."""
    seats: int = 0
    """The change of the seats on the day."""


@dataclass(frozen=True, slots=True)
class Change:
    """One movement, as `MrrBook.set_mrr` made it."""

    account_id: str
    movement: Movement
    amount: Decimal
    before: Decimal
    after: Decimal
    day: int
    streak_start: int


class MrrBook:
    __slots__ = ("accounts", "days", "mrr", "paying", "seats", "subscriptions")

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.days: dict[int, DayMovements] = {}
        self.mrr: Decimal = ZERO
        self.paying: int = 0
        self.subscriptions: int = 0
        """Active subscriptions (a monthly amount > 0) of every account."""
        self.seats: int = 0

    def recount(self) -> None:
        """The subscription and seat totals from the accounts (after a restore)."""
        counts = [a.counts for a in self.accounts.values()]
        self.subscriptions = sum(active for active, _ in counts)
        self.seats = sum(seats for _, seats in counts)

    def settle(
        self, account_id: str, account: Account, counts: tuple[int, int], day: int
    ) -> tuple[Change | None, bool]:
        """After its subscriptions changed (`counts`: its active subscriptions and seats
        before): the account's MRR becomes their sum, in one movement, and the day's
        subscription and seat counts move; (the movement, whether the counts moved)."""
        active, seats = account.counts
        moved = (active, seats) != counts
        if moved:
            bucket = self.days.get(day)
            if bucket is None:
                bucket = self.days[day] = DayMovements()
            bucket.subscriptions += active - counts[0]
            bucket.seats += seats - counts[1]
            self.subscriptions += active - counts[0]
            self.seats += seats - counts[1]
        total = sum((sub.monthly for sub in account.subscriptions.values()), ZERO)
        return self.set_mrr(account_id, account, total, day), moved

    def account(self, account_id: str) -> Account:
        account = self.accounts.get(account_id)
        if account is None:
            account = self.accounts[account_id] = Account()
        return account

    def set_mrr(self, account_id: str, account: Account, after: Decimal, day: int) -> Change | None:
        """Assign an account's MRR on `day`; record the one movement it makes, if any."""
        before = account.mrr
        if after == before:
            return None
        bucket = self.days.get(day)
        if bucket is None:
            bucket = self.days[day] = DayMovements()
        if before == 0:
            movement = Movement.REACTIVATION if account.ever_paid else Movement.NEW
            amount = after
            account.ever_paid = True
            account.streak_start = day
            if movement is Movement.NEW:
                account.first_paid = day
            if movement is Movement.NEW:
                bucket.new += amount
                bucket.new_count += 1
            else:
                bucket.reactivation += amount
                bucket.reactivation_count += 1
            self.paying += 1
        else:
            cohort = bucket.by_streak_start.get(account.streak_start)  # type: ignore[arg-type]
            if cohort is None:
                cohort = bucket.by_streak_start[account.streak_start] = CohortMovements()  # type: ignore[index]
            if after == 0:
                movement, amount = Movement.CHURN, before
                bucket.churned += amount
                bucket.churned_count += 1
                cohort.churned += amount
                cohort.churned_count += 1
                self.paying -= 1
            elif after > before:
                movement, amount = Movement.EXPANSION, after - before
                bucket.expansion += amount
                bucket.expansion_count += 1
                cohort.expansion += amount
            else:
                movement, amount = Movement.CONTRACTION, before - after
                bucket.contraction += amount
                bucket.contraction_count += 1
                cohort.contraction += amount
        self.mrr += after - before
        account.mrr = after
        assert account.streak_start is not None
        return Change(account_id, movement, amount, before, after, day, account.streak_start)

    def forget_days_before(self, day: int) -> None:
        for old in [d for d in self.days if d < day]:
            del self.days[old]
