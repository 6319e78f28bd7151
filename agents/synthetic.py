"""A deterministic synthetic SaaS event stream, with traps, for the demo, tests and benchmarks.

Why it exists: the processor's rules only show their worth on a stream that
looks like a real product's: accounts that trial and never pay or convert, pay
monthly, quarterly or yearly in three currencies, upgrade and downgrade, cancel
now or at period end (and sometimes change their mind), fail to pay and lapse,
and come back later; users who are active on some days and not others, and
answer surveys. And it must arrive the way a bus delivers it: in event-time
order, except for the duplicates, stragglers and malformed messages that every
real bus carries (the "traps"). One seed gives one stream, line for line, so a
test or a benchmark can name the stream it ran on.

How: an account is planned when it signs up: its subscription lifecycle and
survey answers are a handful of events, drawn at once. Activity, which is most
of the stream, is drawn a day at a time from an agenda of the users due that
day. Each day's events are sorted and emitted, so memory holds one day plus
the plans, and the cost is linear in the number of lines. A second pass (`_Traps`) adds the
traps to that ordered stream; `traps=False` gives the same world without them.

Only `random.Random` instances seeded from `WorldSpec.seed` are used: no global
random state and no wall clock.
"""

from __future__ import annotations

import calendar
import io
import itertools
import math
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from heapq import heappop, heappush
from pathlib import Path
from random import Random
from typing import IO, Final, cast

import orjson

from models.decode import Reason

DEMO_FX_RATES: dict[str, Decimal] = {
    "USD": Decimal("1"),
    "EUR": Decimal("1.08"),
    "GBP": Decimal("1.27"),
}
"""Exchange rates to USD that the generated currencies need (the demo's settings)."""

DUPLICATE: Final = "duplicate"
OUT_OF_ORDER: Final = "out_of_order"
LATE: Final = "late"
BAD_KINDS: Final[tuple[str, ...]] = (
    Reason.NOT_JSON,
    Reason.NOT_OBJECT,
    Reason.MISSING_FIELD,
    Reason.WRONG_TYPE,
    Reason.NAIVE_TIMESTAMP,
    Reason.NEGATIVE_AMOUNT,
    Reason.SCORE_OUT_OF_RANGE,
    Reason.UNKNOWN_CURRENCY,
    Reason.EFFECTIVE_BEFORE_OCCURRED,
)
"""Bad-message traps, named by the dead-letter reason the decoder must give them."""
TRAP_KINDS: Final[tuple[str, ...]] = (DUPLICATE, OUT_OF_ORDER, LATE, *BAD_KINDS)

Line = dict[str, object]
Value = dict[str, object]

_DAY: Final = 86_400
_HOUR: Final = 3_600
_MINUTE: Final = 60
_LATENESS: Final = 30 * _DAY  # the default allowed lateness (METRICS.md)
_GRACE: Final = 14 * _DAY  # the default lapse grace (METRICS.md)
_TRIAL: Final = 14 * _DAY
_UNIX: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND: Final = timedelta(seconds=1)
_CENT: Final = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class WorldSpec:
    """What to simulate. Same spec, same lines."""

    seed: int = 7
    accounts: int = 400
    start: date = date(2026, 1, 1)
    days: int = 180
    users_per_account: int = 6  # average
    traps: bool = True

    def __post_init__(self) -> None:
        if self.accounts < 0:
            raise ValueError("accounts must be >= 0")
        if self.days < 1:
            raise ValueError("days must be >= 1")
        if self.users_per_account < 1:
            raise ValueError("users_per_account must be >= 1")


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
    world = _World(spec, Random(master.getrandbits(64)))
    if not spec.traps:
        for _t, line in world.lines():
            yield None, line
        return
    yield from _Traps(world, trap_rng).apply(world.lines())


def write_jsonl(
    lines: Iterable[Line], path_or_stream: str | os.PathLike[str] | IO[bytes] | IO[str]
) -> int:
    """Write `lines` as JSON lines (orjson) to a path or an open stream; return the count."""
    if isinstance(path_or_stream, str | os.PathLike):
        with Path(path_or_stream).open("wb") as handle:
            return _write_lines(lines, handle)
    if isinstance(path_or_stream, io.TextIOBase):
        return _write_lines(lines, cast(IO[str], path_or_stream), text=True)
    return _write_lines(lines, cast(IO[bytes], path_or_stream))


def _write_lines(lines: Iterable[Line], out: IO[bytes] | IO[str], *, text: bool = False) -> int:
    """Batches of lines per write call: one call per line would dominate the cost."""
    count = 0
    batch: list[bytes] = []
    for line in lines:
        batch.append(orjson.dumps(line))
        count += 1
        if len(batch) == 4096:
            _flush(batch, out, text)
    _flush(batch, out, text)
    return count


def _flush(batch: list[bytes], out: IO[bytes] | IO[str], text: bool) -> None:
    if not batch:
        return
    data = b"\n".join(batch) + b"\n"
    if text:
        cast(IO[str], out).write(data.decode())
    else:
        cast(IO[bytes], out).write(data)
    batch.clear()


# -- time --------------------------------------------------------------------------------


def _seconds(moment: datetime) -> int:
    return (moment - _UNIX) // _SECOND


def _add_interval(t: int, interval: str, count: int) -> int:
    """`t + count x interval`: calendar months clamped to the month's end, as the engine does.

    A renewal is due exactly when the engine's `paid_through` says it is.
    """
    if interval == "day":
        return t + count * _DAY
    if interval == "week":
        return t + 7 * count * _DAY
    moment = _UNIX + timedelta(seconds=t)
    months = moment.month - 1 + {"month": 1, "quarter": 3, "year": 12}[interval] * count
    year, month = moment.year + months // 12, months % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return _seconds(moment.replace(year=year, month=month, day=day))


class _Stamps:
    """RFC 3339 text of an instant in a given offset, fast (dates cached per day).

    `datetime.isoformat` per event would be a large part of the generation time.
    """

    __slots__ = ("_dates",)

    def __init__(self) -> None:
        self._dates: dict[int, str] = {}

    def format(self, t: int, offset_min: int, suffix: str) -> str:
        local = t + offset_min * _MINUTE
        day, second = divmod(local, _DAY)
        text = self._dates.get(day)
        if text is None:
            text = self._dates[day] = (_UNIX + timedelta(days=day)).date().isoformat()
        hour, rest = divmod(second, _HOUR)
        minute, sec = divmod(rest, _MINUTE)
        return f"{text}T{hour:02d}:{minute:02d}:{sec:02d}{suffix}"


def _suffix(offset_min: int, zulu: bool) -> str:
    if offset_min == 0 and zulu:
        return "Z"
    sign = "-" if offset_min < 0 else "+"
    hours, minutes = divmod(abs(offset_min), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


# -- the catalogue -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Tier:
    name: str
    monthly: dict[str, Decimal]  # price of one unit (seat pack) a month, per currency
    max_units: int
    users: float  # relative team size


@dataclass(frozen=True, slots=True)
class _Billing:
    name: str
    interval: str
    count: int
    months: int
    factor: Decimal  # price of one billing period in monthly prices


_TIERS: Final = (
    _Tier("starter", {"USD": Decimal(29), "EUR": Decimal(27), "GBP": Decimal(23)}, 3, 0.5),
    _Tier("team", {"USD": Decimal(79), "EUR": Decimal(75), "GBP": Decimal(63)}, 5, 1.0),
    _Tier("business", {"USD": Decimal(199), "EUR": Decimal(185), "GBP": Decimal(159)}, 4, 1.6),
    _Tier("enterprise", {"USD": Decimal(499), "EUR": Decimal(459), "GBP": Decimal(399)}, 3, 2.5),
)
_TIER_WEIGHTS: Final = (45, 33, 16, 6)
_BILLINGS: Final = (
    _Billing("monthly", "month", 1, 1, Decimal(1)),
    _Billing("quarterly", "quarter", 1, 3, Decimal("2.85")),
    _Billing("quarterly", "month", 3, 3, Decimal("2.85")),
    _Billing("annual", "year", 1, 12, Decimal(10)),
)
_BILLING_WEIGHTS: Final = (70, 5, 5, 20)
_CURRENCIES: Final = ("USD", "EUR", "GBP")
_CURRENCY_WEIGHTS: Final = (60, 25, 15)
_OFFSETS: Final = (
    (0, True),
    (0, False),
    (60, False),
    (120, False),
    (-300, False),
    (330, False),
    (-480, False),
)
_OFFSET_WEIGHTS: Final = (70, 4, 8, 6, 6, 3, 3)
_CHANNELS: Final = ("organic", "paid_search", "referral", "partner", "content", "outbound")
_CHANNEL_WEIGHTS: Final = (35, 25, 15, 8, 12, 5)
_ACTIONS: Final = (
    ("login",) * 8
    + ("dashboard.view",) * 6
    + ("report.create",) * 3
    + ("report.export",) * 2
    + ("integration.sync",) * 2
    + ("api.call",) * 3
    + ("invite.sent",)
    + ("settings.update",)
)
_REASONS: Final = ("price", "competitor", "missing_features", "support", "not_using", "other")
_REASON_WEIGHTS: Final = (30, 18, 20, 7, 20, 5)
_ONE_TIME: Final = (Decimal(150), Decimal(500), Decimal(1200))
_COMMENTS: Final = {
    "promoter": ("love the reports", "saves us hours every week", "great support"),
    "passive": ("good, a bit pricey", "does the job", "missing a few integrations"),
    "detractor": ("too slow", "too expensive for what it does", "export keeps failing"),
}


def _price(tier: _Tier, units: int, billing: _Billing, currency: str) -> Decimal:
    return (tier.monthly[currency] * units * billing.factor).quantize(_CENT)


def _amount(rng: Random, amount: Decimal) -> object:
    """Mostly a JSON string ("49.00"); sometimes a JSON number, as some producers send."""
    if rng.random() < 0.88:
        return str(amount)
    return int(amount) if amount == amount.to_integral_value() else float(amount)


# -- the world ---------------------------------------------------------------------------


class _World:
    """Accounts that sign up over the period, emitted a day at a time in event-time order."""

    __slots__ = ("end", "ids", "rng", "spec", "stamps", "start")

    def __init__(self, spec: WorldSpec, rng: Random) -> None:
        self.spec = spec
        self.rng = rng
        self.start = _seconds(
            datetime(spec.start.year, spec.start.month, spec.start.day, tzinfo=UTC)
        )
        self.end = self.start + spec.days * _DAY
        self.stamps = _Stamps()
        self.ids = itertools.count(1)

    def event_id(self, kind: str) -> str:
        return f"{kind}-{next(self.ids)}"

    def signup_times(self) -> list[int]:
        """Sign-ups over the period, a growing business: more of them towards the end."""
        span = self.end - self.start
        return sorted(
            self.start + int(span * self.rng.random() ** 0.8) for _ in range(self.spec.accounts)
        )

    def lines(self) -> Iterator[tuple[int, Line]]:
        """(instant in seconds, line), non-decreasing in the instant.

        A day at a time, from an agenda of who has something due that day: the
        work is proportional to the lines, and only one day of lines is held.
        """
        signups = self.signup_times()
        upcoming = 0
        agenda = _Agenda()
        for day in range(self.start // _DAY, self.end // _DAY):
            day_end = (day + 1) * _DAY
            while upcoming < len(signups) and signups[upcoming] < day_end:
                account = _Account(self, upcoming, signups[upcoming], self.rng)
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


class _Agenda:
    """Day -> the accounts with planned events that day, and the users active that day."""

    __slots__ = ("active", "planned")

    def __init__(self) -> None:
        self.planned: defaultdict[int, list[_Account]] = defaultdict(list)
        self.active: defaultdict[int, list[tuple[_Account, _User]]] = defaultdict(list)

    def add(self, account: _Account) -> None:
        self.plan_next(account)
        for user in account.users:
            self.activity_next(account, user, account.first_active_day(user))

    def plan_next(self, account: _Account) -> None:
        if account.fixed:
            self.planned[account.fixed[-1][0] // _DAY].append(account)

    def activity_next(self, account: _Account, user: _User, day: int | None) -> None:
        if day is not None:
            self.active[day].append((account, user))


@dataclass(slots=True)
class _User:
    user_id: str
    joined: int  # no activity before
    log_idle: float  # log(1 - p), p = the chance that the user is active on a given day
    burst: float  # mean number of extra actions on an active day


@dataclass(slots=True)
class _Subscription:
    """What the account pays for, changing with upgrades and downgrades."""

    tier: int
    units: int
    billing: _Billing
    currency: str

    def price(self) -> Decimal:
        return _price(_TIERS[self.tier], self.units, self.billing, self.currency)

    def plan(self) -> str:
        return f"{_TIERS[self.tier].name}-{self.billing.name}"


class _Account:
    """One customer: its plan of lifecycle events, its users, and when they use the product."""

    __slots__ = (
        "account_id",
        "fixed",
        "health",
        "index",
        "offset",
        "rng",
        "seq",
        "spans",
        "suffix",
        "trial",
        "users",
        "world",
    )

    def __init__(self, world: _World, index: int, signup: int, rng: Random) -> None:
        self.world = world
        self.index = index
        self.rng = rng
        self.account_id = f"acct-{index + 1:05d}"
        self.offset, zulu = rng.choices(_OFFSETS, _OFFSET_WEIGHTS)[0]
        self.suffix = _suffix(self.offset, zulu)
        self.health = rng.betavariate(4, 2.5)
        self.seq = 0
        self.fixed: list[tuple[int, Line]] = []  # latest first, so emitting pops from the end
        self.spans: list[list[int]] = []  # [start, stop) when the account's users use the product
        self.trial = rng.random() < 0.55
        tier = rng.choices(range(len(_TIERS)), _TIER_WEIGHTS)[0]
        most = _TIERS[tier].max_units
        subscription = _Subscription(
            tier=tier,
            units=min(most, 1 + int(rng.random() ** 2 * most)),  # mostly one seat pack
            billing=rng.choices(_BILLINGS, _BILLING_WEIGHTS)[0],
            currency=rng.choices(_CURRENCIES, _CURRENCY_WEIGHTS)[0],
        )
        self.users = self._make_users(signup, _TIERS[tier])
        _Lifecycle(self, subscription).plan(signup)
        self._plan_surveys()
        self.fixed.sort(key=lambda item: item[0])
        self.fixed.reverse()

    # -- output ----------------------------------------------------------------------

    def add(self, t: int, topic: str, value: Value) -> None:
        """Keep a planned event, when it falls inside the simulated period."""
        if t < self.world.end:
            self.fixed.append((t, {"topic": topic, "key": self.account_id, "value": value}))

    def base(self, kind: str, t: int) -> Value:
        return {
            "event_id": self.world.event_id(kind),
            "occurred_at": self.world.stamps.format(t, self.offset, self.suffix),
            "account_id": self.account_id,
        }

    def emit_planned(self, until: int, out: list[tuple[int, int, int, Line]]) -> None:
        """Append this account's planned events before `until`."""
        fixed = self.fixed
        while fixed and fixed[-1][0] < until:
            t, line = fixed.pop()
            self.seq += 1
            out.append((t, self.index, self.seq, line))

    # -- users and activity ----------------------------------------------------------

    def _make_users(self, signup: int, tier: _Tier) -> list[_User]:
        """A team whose size follows the tier; heavier users are active on more days."""
        rng = self.rng
        mean = max(self.world.spec.users_per_account * tier.users - 1, 0.05)
        count = min(1 + round(rng.expovariate(1 / mean)), 80)
        users: list[_User] = []
        for n in range(1, count + 1):
            joined = signup if n == 1 else signup + int(rng.expovariate(1 / (12 * _DAY)))
            chance = min(0.9, rng.betavariate(1.3, 5) * (0.4 + self.health))
            users.append(
                _User(
                    user_id=f"u{n}",
                    joined=joined,
                    log_idle=math.log1p(-chance),
                    burst=0.2 + chance,
                )
            )
        return users

    def _span_from(self, day_start: int) -> list[int] | None:
        """The first usage span that ends after `day_start`."""
        for span in self.spans:
            if span[1] > day_start:
                return span
        return None

    def first_active_day(self, user: _User) -> int | None:
        return self._usable_day(user.joined // _DAY)

    def next_active_day(self, user: _User, day: int) -> int | None:
        """The user's next active day after `day`: a geometric gap (heavier users return sooner)."""
        return self._usable_day(day + 1 + int(math.log(1.0 - self.rng.random()) / user.log_idle))

    def _usable_day(self, day: int) -> int | None:
        """`day`, or the first day of the next usage span; None when usage is over."""
        day_start = day * _DAY
        span = self._span_from(day_start)
        if span is None or day_start >= self.world.end:
            return None
        return day if span[0] < day_start + _DAY else span[0] // _DAY

    def active_day(self, user: _User, day: int, out: list[tuple[int, int, int, Line]]) -> None:
        span = self._span_from(day * _DAY)
        if span is not None:
            self._active_day(user, day * _DAY, span, out)

    def _active_day(
        self, user: _User, day_start: int, span: list[int], out: list[tuple[int, int, int, Line]]
    ) -> None:
        """A session around the account's local afternoon: one action, or a burst of them.

        The hot loop of the generator (most lines are activity), hence the locals.
        """
        rng, world, account_id = self.rng, self.world, self.account_id
        random, log, ids, stamp = rng.random, math.log, world.ids, world.stamps.format
        first, stop = max(span[0], user.joined), min(span[1], world.end)
        last = day_start + _DAY - 1
        local = int((8 + 6 * (random() + random())) * _HOUR)  # 8:00-20:00, most near 14:00
        t = day_start + (local - self.offset * _MINUTE) % _DAY
        for _ in range(1 + int(-log(1.0 - random()) * user.burst)):
            if first <= t < stop:
                self.seq += 1
                value: Value = {
                    "event_id": f"act-{next(ids)}",
                    "occurred_at": stamp(t, self.offset, self.suffix),
                    "account_id": account_id,
                    "user_id": user.user_id,
                    "action": _ACTIONS[int(random() * len(_ACTIONS))],
                }
                line: Line = {"topic": "activity", "key": account_id, "value": value}
                out.append((t, self.index, self.seq, line))
            t += 30 + int(-log(1.0 - random()) * 20 * _MINUTE)
            if t > last:
                t = last

    # -- surveys ---------------------------------------------------------------------

    def _plan_surveys(self) -> None:
        """NPS waves three weeks into each usage span, then every two months.

        Scores lean on the account's health; a few users answer a second time.
        """
        rng = self.rng
        for start, stop in self.spans:
            wave = start + 21 * _DAY + int(rng.random() * 7 * _DAY)
            while wave < stop:
                for user in self.users:
                    if user.joined <= wave and rng.random() < 0.3:
                        self._survey(user.user_id, wave + int(rng.expovariate(1 / (1.5 * _DAY))))
                wave += 60 * _DAY + int(rng.random() * 10 * _DAY)

    def _survey(self, user_id: str, t: int) -> None:
        rng = self.rng
        score = max(0, min(10, round(rng.gauss(4.6 + 5.6 * self.health, 1.7))))
        self._answer(user_id, t, score)
        if rng.random() < 0.08:
            again = max(0, min(10, score + rng.choice((-3, -2, -1, 1, 2))))
            self._answer(user_id, t + int((1 + 13 * rng.random()) * _DAY), again)

    def _answer(self, user_id: str, t: int, score: int) -> None:
        value = self.base("nps", t)
        value["user_id"] = user_id
        value["score"] = score
        if self.rng.random() < 0.2:
            group = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
            value["comment"] = self.rng.choice(_COMMENTS[group])
        self.add(t, "surveys", value)


class _Lifecycle:
    """Draws an account's sign-up, payments and cancellations, period by period.

    Each billing period ends in one fate: renewal (sometimes after a failed
    charge), a plan change mid-period, a cancellation now or at period end (some
    withdrawn by a later payment), or failed charges and a lapse. A churned
    account may come back later. Usage spans follow: usage stops some days before
    the account churns.
    """

    __slots__ = ("account", "rng", "sub")

    def __init__(self, account: _Account, subscription: _Subscription) -> None:
        self.account = account
        self.rng = account.rng
        self.sub = subscription

    def plan(self, signup: int) -> None:
        account, rng = self.account, self.rng
        self._signup(signup)
        if account.trial and rng.random() < 0.45:
            self._trial_only(signup)
            return
        if account.trial:  # converts at the end of the trial
            first = signup + _TRIAL + int(rng.random() * 6 * _HOUR)
        else:
            first = signup + _MINUTE + int(rng.random() * 30 * _MINUTE)
        account.spans.append([signup, account.world.end])
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
            later = t + int(rng.random() * 3 * _DAY)
            again = account.base("sig", later)
            again["user_id"] = "u2"
            account.add(later, "signups", again)

    def _trial_only(self, signup: int) -> None:
        """A trial that never pays: used for a while, sometimes cancelled explicitly."""
        account, rng = self.account, self.rng
        stop = signup + int(rng.random() * (_TRIAL + 5 * _DAY))
        account.spans.append([signup, stop])
        if rng.random() < 0.15:
            self._cancel(stop + int(rng.random() * _DAY), None, "not_using")

    def _subscribe(self, t: int) -> None:
        """Billing periods from `t` until the account churns for good or time runs out."""
        end = self.account.world.end
        while t < end:
            self._pay(t, self.sub.price())
            nxt = self._period(t)
            if nxt is None:
                return
            t = nxt

    def _period(self, t: int) -> int | None:
        """The fate of the period paid at `t`: the next subscription payment's time, or None."""
        rng, sub = self.rng, self.sub
        period_end = _add_interval(t, sub.billing.interval, sub.billing.count)
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
            return period_end + int((1 + 5 * rng.random()) * _DAY)
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
        room = _TIERS[sub.tier].max_units - sub.units
        if room > 0 and (rng.random() < 0.6 or sub.tier + 1 == len(_TIERS)):
            sub.units += 1 + int(rng.random() * room)
            return True
        if sub.tier + 1 < len(_TIERS):
            sub.tier += 1
            sub.units = min(sub.units, _TIERS[sub.tier].max_units)
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
            sub.units = min(sub.units, _TIERS[sub.tier].max_units)
            return True
        return False

    def _churn(self, t: int, period_end: int) -> int | None:
        """Cancel now, cancel at period end (maybe withdrawn), or stop paying and lapse."""
        rng = self.rng
        request = t + int((0.1 + 0.85 * rng.random()) * (period_end - t))
        now_weight = 0.3 if self.sub.billing.months == 1 else 0.1
        draw = rng.random()
        if draw < now_weight:
            self._cancel(request, request if rng.random() < 0.3 else None, None)
            if rng.random() < 0.2:
                self._pay(
                    request + int(rng.random() * 2 * _DAY), self.sub.price(), status="refunded"
                )
            self._stop_usage(request)
            return self._comeback(request)
        if draw < now_weight + 0.45:
            self._cancel(request, period_end, None)
            if rng.random() < 0.35:  # changed their mind: a payment before the period ends
                return request + int((0.2 + 0.6 * rng.random()) * (period_end - request))
            self._stop_usage(period_end)
            return self._comeback(period_end)
        self._fail_and_lapse(period_end)
        self._stop_usage(period_end)
        return self._comeback(period_end + _GRACE)

    def _fail_and_lapse(self, due: int) -> None:
        rng = self.rng
        self._pay(due, self.sub.price(), status="failed")
        for retry in (3, 7):
            if rng.random() < 0.7:
                self._pay(
                    due + retry * _DAY + int(rng.random() * _HOUR),
                    self.sub.price(),
                    status="failed",
                )

    def _stop_usage(self, churn: int) -> None:
        """Usage stops a few days to three weeks before the churn."""
        span = self.account.spans[-1]
        span[1] = max(span[0], churn - int((3 + 17 * self.rng.random()) * _DAY))

    def _comeback(self, churned: int) -> int | None:
        """Some churned accounts return weeks later, maybe on another plan: a reactivation."""
        rng, account = self.rng, self.account
        if rng.random() >= 0.2 + 0.2 * account.health:
            return None
        back = churned + int((14 + 60 * rng.random()) * _DAY)
        if back >= account.world.end:
            return None
        if rng.random() < 0.4:
            self.sub.tier = rng.choices(range(len(_TIERS)), _TIER_WEIGHTS)[0]
            self.sub.units = min(self.sub.units, _TIERS[self.sub.tier].max_units)
        account.spans.append([back - int(rng.random() * 3 * _DAY), account.world.end])
        return back

    def _maybe_one_time(self, t: int, period_end: int) -> None:
        rng = self.rng
        if rng.random() < 0.03:
            when = t + int(rng.random() * (period_end - t))
            amount = rng.choice(_ONE_TIME)
            self._pay(when, amount, kind="one_time")
            if rng.random() < 0.2:
                self._pay(
                    when + int((1 + 10 * rng.random()) * _DAY),
                    amount,
                    kind="one_time",
                    status="refunded",
                )

    def _pay(
        self, t: int, amount: Decimal, *, status: str = "succeeded", kind: str = "subscription"
    ) -> None:
        account, rng, sub = self.account, self.rng, self.sub
        value = account.base("pay", t)
        value["amount"] = _amount(rng, amount)
        value["currency"] = sub.currency
        if status != "succeeded" or rng.random() < 0.7:
            value["status"] = status
        if kind == "subscription":
            value["interval"] = sub.billing.interval
            if sub.billing.count != 1 or rng.random() < 0.3:
                value["interval_count"] = sub.billing.count
            value["plan"] = sub.plan()
        else:
            value["kind"] = kind
        account.add(t, "payments", value)

    def _cancel(self, t: int, effective: int | None, reason: str | None) -> None:
        account, rng = self.account, self.rng
        value = account.base("can", t)
        if effective is not None:
            value["effective_at"] = account.world.stamps.format(
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


# -- traps -------------------------------------------------------------------------------

_P_DUPLICATE: Final = 0.006
_P_OUT_OF_ORDER: Final = 0.004
_P_LATE: Final = 0.0015
_P_BAD: Final = 0.004


class _Traps:
    """Adds the traps to an ordered stream, labelling each line with what it is.

    Held lines (out of order, late, duplicates) wait in a heap until the stream
    passes their release time. A label is checked against the stream time the
    engine will see when the line is delivered, so it is true by construction:
    a straggler that turns out to be no later than anything delivered is no trap.
    """

    __slots__ = ("_bad_messages", "_deck", "_end", "_held", "_max", "_seq", "rng")

    def __init__(self, world: _World, rng: Random) -> None:
        self.rng = rng
        self._end = world.end - _DAY
        self._bad_messages = _BadMessages(world, rng)
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
                release = t + int((31 + 14 * rng.random()) * _DAY)
                if release < self._end:  # else the stream would end before it is late
                    self._hold(release, t, LATE, line)
                    continue
            if draw < _P_LATE + _P_OUT_OF_ORDER:
                self._hold(t + 3 * _HOUR + int(rng.random() * 10 * _DAY), t, OUT_OF_ORDER, line)
                continue
            self._advance(t)
            yield None, line
            if rng.random() < _P_DUPLICATE:
                self._hold(t + _MINUTE + int(rng.random() * 6 * _HOUR), t, DUPLICATE, dict(line))
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


_VALID_FIELDS: Final[dict[str, Value]] = {
    "signups": {"user_id": "u1", "plan": "team-monthly", "trial": False, "channel": "organic"},
    "payments": {"amount": "79.00", "currency": "USD", "status": "succeeded", "interval": "month"},
    "cancellations": {"reason": "price", "voluntary": True},
    "activity": {"user_id": "u2", "action": "login"},
    "surveys": {"user_id": "u1", "score": 8},
}


class _BadMessages:
    """Malformed messages as producers really send them, one way per dead-letter reason."""

    __slots__ = ("_ids", "_makers", "rng", "world")

    def __init__(self, world: _World, rng: Random) -> None:
        self.world = world
        self.rng = rng
        self._ids = itertools.count(1)  # their own ids: the world's are the same without traps
        self._makers: dict[str, Callable[[int, str], tuple[str, str]]] = {
            Reason.NOT_JSON: self._not_json,
            Reason.NOT_OBJECT: self._not_object,
            Reason.MISSING_FIELD: self._missing_field,
            Reason.WRONG_TYPE: self._wrong_type,
            Reason.NAIVE_TIMESTAMP: self._naive_timestamp,
            Reason.NEGATIVE_AMOUNT: self._negative_amount,
            Reason.SCORE_OUT_OF_RANGE: self._score_out_of_range,
            Reason.UNKNOWN_CURRENCY: self._unknown_currency,
            Reason.EFFECTIVE_BEFORE_OCCURRED: self._effective_before_occurred,
        }

    def make(self, kind: str, t: int, account_id: str) -> tuple[str, str]:
        """(topic, raw message text) of a message that the decoder rejects as `kind`."""
        return self._makers[kind](t, account_id)

    def _valid(self, topic: str, t: int, account_id: str) -> Value:
        """A well-formed message of `topic`, for the bad ones to spoil."""
        value: Value = {
            "event_id": f"bad-{next(self._ids)}",
            "occurred_at": self.world.stamps.format(t, 0, "Z"),
            "account_id": account_id,
        }
        value.update(_VALID_FIELDS[topic])
        return value

    def _topic(self) -> str:
        return self.rng.choice(("signups", "payments", "cancellations", "activity", "surveys"))

    def _not_json(self, t: int, account_id: str) -> tuple[str, str]:
        topic = self._topic()
        text = orjson.dumps(self._valid(topic, t, account_id)).decode()
        choice = self.rng.randrange(3)
        if choice == 0:
            return topic, text[: 1 + self.rng.randrange(len(text) - 1)]  # truncated
        if choice == 1:
            return topic, f"event_id=bad; account_id={account_id}; at={t}"
        return topic, "<html><body><h1>502 Bad Gateway</h1></body></html>"

    def _not_object(self, t: int, account_id: str) -> tuple[str, str]:
        topic = self._topic()
        return topic, orjson.dumps([self._valid(topic, t, account_id)]).decode()

    def _missing_field(self, t: int, account_id: str) -> tuple[str, str]:
        topic = self._topic()
        value = self._valid(topic, t, account_id)
        required = {
            "payments": ["amount", "currency"],
            "activity": ["user_id"],
            "surveys": ["score", "user_id"],
        }
        del value[
            self.rng.choice(["event_id", "occurred_at", "account_id", *required.get(topic, [])])
        ]
        return topic, orjson.dumps(value).decode()

    def _wrong_type(self, t: int, account_id: str) -> tuple[str, str]:
        topic, field, wrong = self.rng.choice(
            (
                ("surveys", "score", "9"),
                ("payments", "interval_count", 1.0),
                ("signups", "trial", "true"),
                ("activity", "user_id", 42),
                ("cancellations", "voluntary", "no"),
            )
        )
        value = self._valid(topic, t, account_id)
        value[field] = wrong
        return topic, orjson.dumps(value).decode()

    def _naive_timestamp(self, t: int, account_id: str) -> tuple[str, str]:
        topic = self._topic()
        value = self._valid(topic, t, account_id)
        value["occurred_at"] = cast(str, value["occurred_at"]).removesuffix("Z")
        return topic, orjson.dumps(value).decode()

    def _negative_amount(self, t: int, account_id: str) -> tuple[str, str]:
        value = self._valid("payments", t, account_id)
        value["amount"] = self.rng.choice(("-79.00", -29, "-0.01"))
        value["status"] = "refunded"
        return "payments", orjson.dumps(value).decode()

    def _score_out_of_range(self, t: int, account_id: str) -> tuple[str, str]:
        value = self._valid("surveys", t, account_id)
        value["score"] = self.rng.choice((11, 11, 10_000, -1))
        return "surveys", orjson.dumps(value).decode()

    def _unknown_currency(self, t: int, account_id: str) -> tuple[str, str]:
        value = self._valid("payments", t, account_id)
        value["amount"] = "8900"
        value["currency"] = "JPY"
        return "payments", orjson.dumps(value).decode()

    def _effective_before_occurred(self, t: int, account_id: str) -> tuple[str, str]:
        value = self._valid("cancellations", t, account_id)
        earlier = t - _HOUR - int(self.rng.random() * 5 * _DAY)
        value["effective_at"] = self.world.stamps.format(earlier, 120, "+02:00")
        return "cancellations", orjson.dumps(value).decode()
