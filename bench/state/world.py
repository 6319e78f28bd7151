"""The synthetic activity-heavy world: accounts x users x events a day x days, in time order.

Why it exists: issue 10 asks how state grows with users and with events, so the
world is almost all activity (one distinct user per `(account, user)`, every user
active every day), with just enough billing (a signup and a monthly subscription
payment per account, some accounts changing price every month) for MRR to move,
and a few surveys for NPS. The demo generator is far too slow for millions of lines,
so the JSON is written with f-strings from precomputed pieces; both parts of the
benchmark read the same stream from here (bare values for the engine, replay lines
for the broker).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

KINDS = ("signups", "payments", "cancellations", "activity", "surveys")
PRICES = ("29.00", "49.00", "99.00", "199.00", "499.00")
BILLING_EVERY_DAYS = 30
SURVEY_EVERY_DAYS = 10
"""Each day, the accounts with `index % 10 == day % 10` send one survey answer."""
LAST_SECOND = "23:59:59Z"


@dataclass(frozen=True, slots=True)
class World:
    accounts: int
    users: int
    """Users per account."""
    per_day: int
    """Activity events per user per day."""
    days: int
    start_day: int
    """First day of the world (days since 1970-01-01, UTC)."""

    @classmethod
    def ending_before_today(cls, accounts: int, users: int, per_day: int, days: int) -> World:
        """A world whose last day ends before today (UTC): the worker rejects an event
        more than `max_future_seconds` ahead of its record time (the produce time)."""
        today = int(time.time() // 86_400)
        return cls(accounts, users, per_day, days, today - days - 2)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def total_users(self) -> int:
        return self.accounts * self.users

    def surveys_on(self, day: int) -> range:
        return range(day % SURVEY_EVERY_DAYS, self.accounts, SURVEY_EVERY_DAYS)

    def counts(self) -> dict[str, int]:
        """Messages per kind (all of them valid events: none is a duplicate or late)."""
        billing_days = len(range(0, self.days, BILLING_EVERY_DAYS))
        return {
            "signups": self.accounts,
            "payments": self.accounts * billing_days,
            "activity": self.accounts * self.users * self.per_day * self.days,
            "surveys": sum(len(self.surveys_on(day)) for day in range(self.days)),
        }

    @property
    def events(self) -> int:
        return sum(self.counts().values())

    def day_text(self, day: int) -> str:
        return (date(1970, 1, 1) + timedelta(days=self.start_day + day)).isoformat()

    def messages(self) -> Iterator[tuple[str, str, bytes]]:
        """(kind, account id, JSON value) of every event, in event-time order."""
        accounts = [f"acct-{a:05d}" for a in range(self.accounts)]
        users = [f"u{u}" for u in range(self.users)]
        per_day = self.accounts * self.users * self.per_day
        clock = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in range(86_400)]
        seconds = [clock[i * 86_400 // per_day] for i in range(per_day)]
        n = 0
        for day in range(self.days):
            stamp = self.day_text(day) + "T"
            if day == 0:
                for a, account in enumerate(accounts):
                    value = (
                        f'{{"event_id":"s{a}","occurred_at":"{stamp}00:00:00Z",'
                        f'"account_id":"{account}","plan":"p{a % len(PRICES)}"}}'
                    )
                    yield "signups", account, value.encode()
            if day % BILLING_EVERY_DAYS == 0:
                month = day // BILLING_EVERY_DAYS
                for a, account in enumerate(accounts):
                    price = PRICES[(a + (month if a % 3 == 0 else 0)) % len(PRICES)]
                    value = (
                        f'{{"event_id":"p{a}.{month}","occurred_at":"{stamp}00:00:00Z",'
                        f'"account_id":"{account}","amount":"{price}","currency":"USD"}}'
                    )
                    yield "payments", account, value.encode()
            i = 0
            for _slot in range(self.per_day):
                for user in users:
                    for account in accounts:
                        n += 1
                        value = (
                            f'{{"event_id":"e{n}","occurred_at":"{stamp}{seconds[i]}",'
                            f'"account_id":"{account}","user_id":"{user}","action":"view"}}'
                        )
                        yield "activity", account, value.encode()
                        i += 1
            for a in self.surveys_on(day):
                user = users[day % self.users]
                value = (
                    f'{{"event_id":"q{a}.{day}","occurred_at":"{stamp}{LAST_SECOND}",'
                    f'"account_id":"{accounts[a]}","user_id":"{user}","score":{(a + day) % 11}}}'
                )
                yield "surveys", accounts[a], value.encode()

    def after_end(self, count: int, tag: str) -> Iterator[tuple[str, str, bytes]]:
        """`count` new activity events at the world's last second (unique ids `tag`-i),
        spread over the accounts, so every partition gets some."""
        stamp = f"{self.day_text(self.days - 1)}T{LAST_SECOND}"
        for i in range(count):
            account = f"acct-{i * 7919 % self.accounts:05d}"
            value = (
                f'{{"event_id":"{tag}-{i}","occurred_at":"{stamp}","account_id":"{account}",'
                f'"user_id":"u{i % self.users}","action":"view"}}'
            )
            yield "activity", account, value.encode()


CHANGE_ACCOUNTS = 100
"""Accounts (the first ones) the fixed-change step touches: as many in every world size."""


def next_day_changes(world: World, tag: str) -> Iterator[tuple[str, str, bytes]]:
    """One activity event on the day after the world's last for every user of its first
    `CHANGE_ACCOUNTS` accounts: the same number of changed keys (users, accounts, one id
    bucket) whatever the world's size, for the cost of a checkpoint at a fixed change."""
    stamp = f"{world.day_text(world.days)}T12:00:00Z"
    for a in range(min(CHANGE_ACCOUNTS, world.accounts)):
        account = f"acct-{a:05d}"
        for u in range(world.users):
            value = (
                f'{{"event_id":"{tag}-{a}-{u}","occurred_at":"{stamp}","account_id":"{account}",'
                f'"user_id":"u{u}","action":"view"}}'
            )
            yield "activity", account, value.encode()


def replay_lines(
    messages: Iterator[tuple[str, str, bytes]], topics: Mapping[str, str]
) -> Iterator[bytes]:
    """The messages as replay-file lines (models/replay_line.py) on these topic names."""
    heads = {kind: f'{{"topic":"{topics[kind]}","key":"'.encode() for kind in KINDS}
    for kind, account, value in messages:
        yield heads[kind] + account.encode() + b'","value":' + value + b"}"
