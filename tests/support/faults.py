"""The fault suite's stream, and the check that a worker's outputs equal the replay's.

One stream serves every case: a generated world with its traps (duplicates, late,
out-of-order and bad messages) plus poison (a year 9999, a 2 MB value on a topic
that accepts it, 400 KB of control bytes, random text, truncated JSON, deep
nesting, a 100,000-year payment), every line stamped with a record `timestamp`
so that `replay --partitions P` applies the "too far ahead" rule as the worker
does with Kafka's record timestamps.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import orjson
import redis
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from agents.embedded.replay import ReplayOutputs, replay_lines
from agents.kafka.config import client_config
from agents.kafka.producer import ProduceSummary, produce_lines
from models.outputs import AccountView
from models.redis_text import fields_text
from models.settings import Settings
from state.clock import day_to_date
from state.figures import COUNTER_FIGURES
from state.history import SERIES_FIGURES, daily_values
from tests.support.workers import (
    Workers,
    message_total,
    read_all,
    redis_metrics,
    wait_for_figures,
    wait_until,
    world,
)

EXPECTED_ALERTS: dict[str, tuple[str, str, str]] = {}
BIG_VALUE_BYTES = 2 * 1024 * 1024
BIG_TOPIC_BYTES = 3 * 1024 * 1024
"""`max.message.bytes` of the fault suite's activity topic: the 2 MB value is accepted."""


def _poison(settings: Settings, rng: random.Random) -> list[dict[str, Any]]:
    activity, payments = settings.topic_activity, settings.topic_payments
    far = {"event_id": "poison-far", "occurred_at": "9999-12-31T23:00:00Z",
           "account_id": "poison-a", "user_id": "u"}  # fmt: skip
    big = {"event_id": "poison-big", "occurred_at": "2026-03-01T00:00:00Z",
           "account_id": "poison-b", "user_id": "u", "action": "x" * BIG_VALUE_BYTES}  # fmt: skip
    forever = {"event_id": "poison-forever", "occurred_at": "2026-02-01T00:00:00Z",
               "account_id": "poison-c", "amount": "120.00", "currency": "USD",
               "interval": "year", "interval_count": 100_000}  # fmt: skip
    text = "".join(chr(rng.randrange(1, 0x2FFF)) for _ in range(300))
    return [
        {"topic": activity, "key": "poison-a", "value": far},
        {"topic": activity, "key": "poison-b", "value": big},
        {"topic": activity, "key": "poison-d", "value": "\x01" * 400_000},
        {"topic": activity, "key": "poison-e", "value": text},
        {"topic": payments, "key": "poison-f", "value": '{"event_id": "t", "occurred_at": "20'},
        {"topic": activity, "key": "poison-g", "value": "[" * 100_000},
        {"topic": payments, "key": "poison-c", "value": forever},
    ]


def fault_stream(
    settings: Settings, *, seed: int = 41, accounts: int = 600, billing: bool = True
) -> list[bytes]:
    """~45k lines: the world (150 days) with the poison mixed in, stamped from now on;
    without `billing`, a world without BILLING.md's fields."""
    rng = random.Random(seed)
    generated = world(settings, seed, accounts, 150, billing=billing)
    lines: list[Any] = [orjson.loads(line) for line in generated]
    for poison in _poison(settings, rng):
        lines.insert(rng.randrange(len(lines)), poison)
    start = int(time.time() * 1000)
    return [orjson.dumps({**line, "timestamp": start + n}) for n, line in enumerate(lines)]


def create_input_topics(settings: Settings) -> None:
    """The input topics, the activity one accepting 3 MB messages (as real clusters often do)."""
    admin = KafkaAdminClient(**client_config(settings))
    try:
        admin.create_topics(
            [NewTopic(name, settings.topic_partitions, 1,
                      topic_configs={"max.message.bytes": str(BIG_TOPIC_BYTES)})
             for name in settings.input_topics()],
        )  # fmt: skip
    finally:
        admin.close()


@dataclass(slots=True)
class Expected:
    """What `replay --partitions P` says the worker must hold."""

    snapshot: dict[str, Any]
    accounts: dict[str, AccountView]
    alert_ids: set[str]
    dead_letters: dict[tuple[str | None, int | None, int | None], str]
    """(topic, partition, offset) -> reason."""
    series: dict[str, dict[str, str]]
    """Figure -> {day: text} of what the worker's series must hold: every day of `replay
    --partitions P --series`."""


def expected_of(settings: Settings, lines: list[bytes]) -> Expected:
    letters: dict[tuple[str | None, int | None, int | None], str] = {}
    alerts: set[str] = set()

    def letter(record: Any) -> None:
        letters[(record.topic, record.partition, record.offset)] = record.error.type

    def alert(record: Any) -> None:
        alerts.add(record.alert_id)
        EXPECTED_ALERTS[record.alert_id] = (record.rule, record.account_id, record.as_of)

    outputs = ReplayOutputs(dead_letter=letter, alert=alert)
    replay = replay_lines(lines, settings, outputs, partitions=settings.topic_partitions)
    snapshot = dict(replay.snapshot())
    today = replay.aggregator.day
    assert today is not None
    days = daily_values(
        replay.aggregator.partials(), today, snapshot, replay.aggregator.windows,  # type: ignore[arg-type]
        settings.lateness_days,
    )  # fmt: skip
    by_day = {row["day"]: row for row in replay.series()}
    for day, figures in days.items():  # what the worker writes is `replay --series`'s rows
        row = by_day[day_to_date(day).isoformat()]
        assert {name: row[name] for name in figures} == figures, day
    series: dict[str, dict[str, str]] = {name: {} for name in SERIES_FIGURES}
    for row in by_day.values():  # every day of the history, the final ones included
        for name in SERIES_FIGURES:
            series[name][str(row["day"])] = fields_text({"v": row[name]})["v"]
    return Expected(snapshot, replay.accounts(), alerts, letters, series)


def _redis(settings: Settings) -> redis.Redis:
    return redis.Redis.from_url(settings.redis_url.get_secret_value(), decode_responses=True)


def redis_accounts(settings: Settings) -> dict[str, dict[str, str]]:
    client = _redis(settings)
    prefix = f"{settings.redis_prefix}account:"
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        return {k[len(prefix) :]: dict(client.hgetall(k)) for k in keys}  # type: ignore[arg-type]
    finally:
        client.close()


def redis_alert_ids(settings: Settings) -> set[str]:
    client = _redis(settings)
    try:
        entries = client.xrange(f"{settings.redis_prefix}alerts")
    finally:
        client.close()
    return {orjson.loads(fields["alert"])["alert_id"] for _id, fields in entries}  # type: ignore[union-attr, index]


def redis_series(settings: Settings, names: list[str]) -> dict[str, dict[str, str]]:
    client = _redis(settings)
    try:
        return {n: dict(client.hgetall(f"{settings.redis_prefix}series:{n}")) for n in names}  # type: ignore[arg-type]
    finally:
        client.close()


def kafka_dead_letters(
    settings: Settings,
) -> tuple[dict[tuple[str | None, int | None, int | None], str], int]:
    """(topic, partition, offset) -> reason of every dead letter, and how many records."""
    records = read_all(settings, settings.topic_dead_letters)
    letters = {}
    for message in records:
        record = orjson.loads(message.value)
        letters[(record["topic"], record["partition"], record["offset"])] = record["error"]["type"]
    return letters, len(records)


def assert_worker_holds(settings: Settings, expected: Expected, workers: Workers) -> None:
    """Every output of the worker equals the replay's: figures, every account hash, the
    series, the alert ids (Redis and Kafka) and the dead letters (each, with its reason).

    The series are compared for every day of every figure except the counters' past days
    (DECISIONS 66): `events` of a day is the count when the partition's stream time left
    it, which depends on when records arrive (a partition that idles follows the global
    time and closes its day before a slow topic's last records of it; an unclean broker
    kill may merge a record late), and no later event can revise it."""
    try:
        wait_for_figures(settings, expected.snapshot, workers)
    except AssertionError as error:
        raise AssertionError(f"{error}\n{_dead_letter_diff(settings, expected)}") from None
    want_accounts = {a: fields_text(v.model_dump()) for a, v in expected.accounts.items()}
    wait_until(
        lambda: redis_accounts(settings) == want_accounts,
        "every account hash equal to the replay's",
        tail=lambda: _account_diff(redis_accounts(settings), want_accounts) + workers.tail(),
    )
    wait_until(
        lambda: redis_alert_ids(settings) == expected.alert_ids,
        "the replay's alert ids in Redis",
        tail=lambda: _alert_diff(settings, expected) + workers.tail(),
    )
    published = {
        orjson.loads(m.value)["alert_id"] for m in read_all(settings, settings.topic_churn_alerts)
    }
    assert published == expected.alert_ids
    letters, _count = kafka_dead_letters(settings)
    assert letters == expected.dead_letters, sorted(
        set(letters.items()) ^ set(expected.dead_letters.items())
    )[:10]
    assert Counter(letters.values()) == Counter(expected.dead_letters.values())
    names = sorted(expected.series)

    today = str(expected.snapshot["day"])

    def compared(series: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        return {
            name: {d: v for d, v in days.items() if d == today or name not in COUNTER_FIGURES}
            for name, days in series.items()
        }

    want = compared(expected.series)

    def got() -> dict[str, dict[str, str]]:
        return compared(redis_series(settings, names))

    def series_match() -> bool:
        return got() == want

    wait_until(
        series_match, "the series of every day equal to the replay's",
        tail=lambda: _series_diff(got(), want) + workers.tail(),
    )  # fmt: skip
    assert set(expected.series) == set(SERIES_FIGURES)


def _series_diff(got: dict[str, dict[str, str]], want: dict[str, dict[str, str]]) -> str:
    """The first differing series values: figure, day, the worker's, the replay's."""
    rows = [
        f"{name} {day}: worker {got.get(name, {}).get(day)!r}, replay {want[name].get(day)!r}"
        for name in sorted(want)
        for day in sorted(set(want[name]) | set(got.get(name, {})))
        if got.get(name, {}).get(day) != want[name].get(day)
    ]
    return f"{len(rows)} series values differ:\n" + "\n".join(rows[:12]) + "\n"


def _dead_letter_diff(settings: Settings, expected: Expected) -> str:
    """The first messages judged differently: dead letters only one side has, or with
    another reason ((topic, partition, offset): worker's reason, replay's reason)."""
    letters, _count = kafka_dead_letters(settings)
    keys = sorted(set(letters) ^ set(expected.dead_letters) | {
        key for key in letters.keys() & expected.dead_letters.keys()
        if letters[key] != expected.dead_letters[key]
    }, key=str)  # fmt: skip
    diff = {key: (letters.get(key), expected.dead_letters.get(key)) for key in keys[:20]}
    return f"dead letters that differ ({len(keys)}; worker, replay): {diff}"


def _alert_diff(settings: Settings, expected: Expected) -> str:
    got = redis_alert_ids(settings)
    published = {
        (a := orjson.loads(m.value))["alert_id"]: (a["rule"], a["account_id"], a["as_of"])
        for m in read_all(settings, settings.topic_churn_alerts)
    }
    extra = [published.get(i, i) for i in sorted(got - expected.alert_ids)]
    missing = [EXPECTED_ALERTS.get(i, i) for i in sorted(expected.alert_ids - got)]
    return f"in Redis only {extra}; missing {missing}\n"


def _account_diff(got: dict[str, dict[str, str]], want: dict[str, dict[str, str]]) -> str:
    missing = sorted(set(want) - set(got))[:5]
    extra = sorted(set(got) - set(want))[:5]
    differ = [(a, {k: (got[a].get(k), v) for k, v in want[a].items() if got[a].get(k) != v})
              for a in sorted(set(got) & set(want)) if got[a] != want[a]][:5]  # fmt: skip
    return f"missing {missing}, extra {extra}, differing {differ}\n"


class Producer(threading.Thread):
    """`produce_lines` at full speed in the background, as the product's buses would."""

    def __init__(self, lines: list[bytes], settings: Settings) -> None:
        super().__init__(daemon=True)
        self.lines, self.settings = lines, settings
        self.summary: ProduceSummary | None = None

    def run(self) -> None:
        self.summary = produce_lines(self.lines, self.settings)

    def finish(self) -> ProduceSummary:
        self.join(timeout=600)
        assert self.summary is not None, "the producer did not finish"
        assert self.summary.errors == 0, self.summary.describe()
        return self.summary


@dataclass
class Started:
    """A fault case under way: its stream, the replay's outputs of it, and its producer."""

    lines: list[bytes]
    expected: Expected
    producer: Producer


def two_workers_then_the_stream(
    settings: Settings,
    group: Workers,
    seed: int,
    *,
    in_background: bool = True,
    billing: bool = True,
) -> Started:
    """The fault stream of `seed` and its replay; two workers started and ready first, then
    the stream at full speed (in the background, or to its end)."""
    from agents.kafka.topics import ensure_topics

    lines = fault_stream(settings, seed=seed, billing=billing)
    expected = expected_of(settings, lines)
    ensure_topics(settings)
    for index in (1, 2):
        group.start(index)
    for index in (1, 2):
        group.wait_ready(index)
    producer = Producer(lines, settings)
    if in_background:
        producer.start()
    else:
        producer.run()
    return Started(lines, expected, producer)


def counted(settings: Settings) -> int:
    """Messages the worker's figures count so far (events, duplicates, dead letters)."""
    return message_total(redis_metrics(settings))


def when_counted(settings: Settings, share: float, total: int, workers: Workers) -> None:
    """Until the figures count `share` of `total` messages."""
    wait_until(
        lambda: counted(settings) >= share * total,
        f"{share:.0%} of the messages counted",
        tail=workers.tail,
    )
