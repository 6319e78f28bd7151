"""One customer: its users, when they use the product, and its NPS answers.

Why it exists: an account is the unit the world is planned in. It is drawn
whole when it signs up (its lifecycle events, usage spans and survey answers,
held latest first), except for activity, most of the stream, which is drawn a
day at a time when the world's agenda says a user is due.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from random import Random
from typing import Final

from agents.demo.addons import plan_addon, plan_id, takes_addon
from agents.demo.billing import (
    BILLING_WEIGHTS,
    BILLINGS,
    CURRENCIES,
    CURRENCY_WEIGHTS,
    TIER_WEIGHTS,
    TIERS,
    Subscription,
    Tier,
)
from agents.demo.frame import Frame
from agents.demo.instants import DAY, HOUR, MINUTE, offset_suffix
from agents.demo.lifecycle import Lifecycle
from agents.demo.spec import Line, Value

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

_COMMENTS: Final = {
    "promoter": ("love the reports", "saves us hours every week", "great support"),
    "passive": ("good, a bit pricey", "does the job", "missing a few integrations"),
    "detractor": ("too slow", "too expensive for what it does", "export keeps failing"),
}


@dataclass(slots=True)
class User:
    user_id: str
    joined: int  # no activity before
    log_idle: float  # log(1 - p), p = the chance that the user is active on a given day
    burst: float  # mean number of extra actions on an active day


class Account:
    """One customer: its plan of lifecycle events, its users, and when they use the product."""

    __slots__ = (
        "account_id",
        "fixed",
        "frame",
        "health",
        "index",
        "offset",
        "rng",
        "seq",
        "spans",
        "suffix",
        "trial",
        "users",
    )

    def __init__(self, frame: Frame, index: int, signup: int, rng: Random) -> None:
        self.frame = frame
        self.index = index
        self.rng = rng
        self.account_id = f"acct-{index + 1:05d}"
        self.offset, zulu = rng.choices(_OFFSETS, _OFFSET_WEIGHTS)[0]
        self.suffix = offset_suffix(self.offset, zulu)
        self.health = rng.betavariate(4, 2.5)
        self.seq = 0
        self.fixed: list[tuple[int, Line]] = []  # latest first, so emitting pops from the end
        self.spans: list[list[int]] = []  # [start, stop) when the account's users use the product
        self.trial = rng.random() < 0.55
        tier = rng.choices(range(len(TIERS)), TIER_WEIGHTS)[0]
        most = TIERS[tier].max_units
        subscription = Subscription(
            tier=tier,
            units=min(most, 1 + int(rng.random() ** 2 * most)),  # mostly one seat pack
            billing=rng.choices(BILLINGS, BILLING_WEIGHTS)[0],
            currency=rng.choices(CURRENCIES, CURRENCY_WEIGHTS)[0],
        )
        self.users = self._make_users(signup, TIERS[tier])
        extra = Random(f"{frame.spec.seed}:{self.account_id}")
        addon = frame.spec.billing and takes_addon(extra)
        lifecycle = Lifecycle(self, subscription, plan_id(self.account_id) if addon else None)
        lifecycle.plan(signup)
        if addon and lifecycle.first_paid is not None:
            stop = min([*lifecycle.streak_ends, frame.end])
            plan_addon(
                self, self.account_id, extra, lifecycle.first_paid, stop, subscription.currency
            )
        self._plan_surveys()
        self.fixed.sort(key=lambda item: item[0])
        self.fixed.reverse()

    # -- output ----------------------------------------------------------------------

    def add(self, t: int, topic: str, value: Value) -> None:
        """Keep a planned event, when it falls inside the simulated period."""
        if t < self.frame.end:
            self.fixed.append((t, {"topic": topic, "key": self.account_id, "value": value}))

    def base(self, kind: str, t: int) -> Value:
        return {
            "event_id": self.frame.event_id(kind),
            "occurred_at": self.frame.stamps.format(t, self.offset, self.suffix),
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

    def _make_users(self, signup: int, tier: Tier) -> list[User]:
        """A team whose size follows the tier; heavier users are active on more days."""
        rng = self.rng
        mean = max(self.frame.spec.users_per_account * tier.users - 1, 0.05)
        count = min(1 + round(rng.expovariate(1 / mean)), 80)
        users: list[User] = []
        for n in range(1, count + 1):
            joined = signup if n == 1 else signup + int(rng.expovariate(1 / (12 * DAY)))
            chance = min(0.9, rng.betavariate(1.3, 5) * (0.4 + self.health))
            users.append(
                User(
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

    def first_active_day(self, user: User) -> int | None:
        return self._usable_day(user.joined // DAY)

    def next_active_day(self, user: User, day: int) -> int | None:
        """The user's next active day after `day`: a geometric gap (heavier users return sooner)."""
        return self._usable_day(day + 1 + int(math.log(1.0 - self.rng.random()) / user.log_idle))

    def _usable_day(self, day: int) -> int | None:
        """`day`, or the first day of the next usage span; None when usage is over."""
        day_start = day * DAY
        span = self._span_from(day_start)
        if span is None or day_start >= self.frame.end:
            return None
        return day if span[0] < day_start + DAY else span[0] // DAY

    def active_day(self, user: User, day: int, out: list[tuple[int, int, int, Line]]) -> None:
        span = self._span_from(day * DAY)
        if span is not None:
            self._active_day(user, day * DAY, span, out)

    def _active_day(
        self, user: User, day_start: int, span: list[int], out: list[tuple[int, int, int, Line]]
    ) -> None:
        """A session around the account's local afternoon: one action, or a burst of them.

        The hot loop of the generator (most lines are activity), hence the locals.
        """
        rng, frame, account_id = self.rng, self.frame, self.account_id
        random, log, ids, stamp = rng.random, math.log, frame.ids, frame.stamps.format
        first, stop = max(span[0], user.joined), min(span[1], frame.end)
        last = day_start + DAY - 1
        local = int((8 + 6 * (random() + random())) * HOUR)  # 8:00-20:00, most near 14:00
        t = day_start + (local - self.offset * MINUTE) % DAY
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
            t += 30 + int(-log(1.0 - random()) * 20 * MINUTE)
            if t > last:
                t = last

    # -- surveys ---------------------------------------------------------------------

    def _plan_surveys(self) -> None:
        """NPS waves three weeks into each usage span, then every two months.

        Scores lean on the account's health; a few users answer a second time.
        """
        rng = self.rng
        for start, stop in self.spans:
            wave = start + 21 * DAY + int(rng.random() * 7 * DAY)
            while wave < stop:
                for user in self.users:
                    if user.joined <= wave and rng.random() < 0.3:
                        self._survey(user.user_id, wave + int(rng.expovariate(1 / (1.5 * DAY))))
                wave += 60 * DAY + int(rng.random() * 10 * DAY)

    def _survey(self, user_id: str, t: int) -> None:
        rng = self.rng
        score = max(0, min(10, round(rng.gauss(4.6 + 5.6 * self.health, 1.7))))
        self._answer(user_id, t, score)
        if rng.random() < 0.08:
            again = max(0, min(10, score + rng.choice((-3, -2, -1, 1, 2))))
            self._answer(user_id, t + int((1 + 13 * rng.random()) * DAY), again)

    def _answer(self, user_id: str, t: int, score: int) -> None:
        value = self.base("nps", t)
        value["user_id"] = user_id
        value["score"] = score
        if self.rng.random() < 0.2:
            group = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
            value["comment"] = self.rng.choice(_COMMENTS[group])
        self.add(t, "surveys", value)
