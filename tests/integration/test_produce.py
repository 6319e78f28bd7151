"""`produce_lines` and `growthstream produce` against a real broker.

What must hold for the worker to see what replay sees: every value arrives
byte for byte (bad ones included, since the worker dead-letters them), keyed
by account, with one account's messages in one partition of every topic; and
what is not a replay line, or names a topic that is not an input, goes to the
dead-letters topic as the dead letter replay writes for it, never to another topic.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from agents.cli import main
from agents.embedded.replay import ReplayOutputs, replay_lines
from agents.kafka.config import client_config
from agents.kafka.producer import produce_lines
from agents.kafka.topics import ensure_topics, wanted_topics
from models.decode import Reason
from models.outputs import DeadLetter
from models.settings import Settings
from tests.support.workers import kafka_environment

pytestmark = pytest.mark.integration

Sent = tuple[str, bytes, str | None]
"""(topic, value bytes, key) of one message."""


def _event(topic_kind: str, account: str, n: int) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": f"{topic_kind}-{account}-{n}",
        "occurred_at": f"2026-03-01T12:{n:02d}:00Z",
        "account_id": account,
    }
    if topic_kind == "payment":
        base |= {"amount": "49.00", "currency": "USD"}
    elif topic_kind == "activity":
        base |= {"user_id": f"u-{account}"}
    elif topic_kind == "survey":
        base |= {"user_id": f"u-{account}", "score": 9}
    return base


def replay_file(settings: Settings) -> tuple[list[bytes], list[Sent]]:
    """Replay lines with every kind of line, and the messages that must arrive, in file order."""
    topic_of = {kind: name for name, kind in settings.input_topics().items()}
    lines: list[bytes] = []
    expected: list[Sent] = []

    def line(envelope: dict[str, Any], sent: Sent | None) -> None:
        lines.append(orjson.dumps(envelope))
        if sent is not None:
            expected.append(sent)

    accounts = [f"acct-{i}" for i in range(8)]
    for n in range(40):
        kind = ("signup", "payment", "activity", "survey", "cancellation")[n % 5]
        account = accounts[n % len(accounts)]
        value = _event(kind, account, n)
        envelope: dict[str, Any] = {"topic": topic_of[kind], "value": value}
        if n % 3 == 0:
            envelope["key"] = account  # an explicit key; the others are derived from the value
        line(envelope, (topic_of[kind], orjson.dumps(value), account))

    payments, activity = topic_of["payment"], topic_of["activity"]
    # A raw good value, spaced unlike orjson: it must arrive as written, not re-serialized.
    raw_good = (
        '{ "event_id" : "raw-1", "occurred_at": "2026-03-01T13:00:00Z",  '
        '"account_id": "acct-1", "amount": 12.5, "currency": "EUR" }'
    )
    line(
        {"topic": payments, "key": "acct-1", "value": raw_good},
        (payments, raw_good.encode(), "acct-1"),
    )
    raw_unkeyed = (
        '{"account_id":"acct-2", "event_id":"raw-2",'
        '"occurred_at":"2026-03-01T13:01:00Z","user_id":"u"}'
    )
    line({"topic": activity, "value": raw_unkeyed}, (activity, raw_unkeyed.encode(), "acct-2"))
    # Bad raw values travel too: the worker dead-letters them.
    for bad in ("this is not json {", "[1, 2, 3]", "", "d\u00e9j\u00e0 vu \u2603"):
        line({"topic": payments, "key": "acct-3", "value": bad}, (payments, bad.encode(), "acct-3"))
    line({"topic": activity, "value": 42}, (activity, b"42", None))
    line({"topic": activity, "value": None}, (activity, b"null", None))
    # Not replay lines, and a topic that is not an input: dead letters, never on an input.
    lines.append(b"this line is not JSON")
    lines.append(orjson.dumps({"value": _event("signup", "acct-0", 99)}))
    lines.append(orjson.dumps({"topic": payments}))
    lines.append(orjson.dumps({"topic": f"not-an-input-{settings.app_id}", "value": {"a": 1}}))
    lines.append(b"   ")  # blank: ignored, like replay does
    return lines, expected


def consume_all(
    settings: Settings, expected: int, timeout_s: float = 30, topics: Iterable[str] = ()
) -> list[Any]:
    """Every message of `topics` (default: the input topics), from the beginning (no consumer
    group)."""
    consumer = KafkaConsumer(
        **client_config(settings), auto_offset_reset="earliest", enable_auto_commit=False
    )
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in (list(topics) or settings.input_topics())
            for p in consumer.partitions_for_topic(topic) or ()
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        records: list[Any] = []
        deadline = time.monotonic() + timeout_s
        while len(records) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        # Anything beyond `expected` would be a bug too: drain a little longer.
        for batch in consumer.poll(timeout_ms=500).values():
            records.extend(batch)
        return records
    finally:
        consumer.close()


def partition_counts(settings: Settings) -> dict[str, int]:
    admin = KafkaAdminClient(**client_config(settings))
    try:
        described = admin.describe_topics(list(wanted_topics(settings)))
        return {t["name"]: len(t["partitions"]) for t in described if not t["error_code"]}
    finally:
        admin.close()


def topic_names(settings: Settings) -> set[str]:
    admin = KafkaAdminClient(**client_config(settings))
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def test_produce_lines_sends_every_value_byte_for_byte(fresh_names: Settings) -> None:
    settings = fresh_names
    created = ensure_topics(settings)
    assert sorted(created) == sorted(wanted_topics(settings))
    assert ensure_topics(settings) == []  # idempotent
    lines, expected = replay_file(settings)

    summary = produce_lines(lines, settings)

    assert summary.errors == 0, summary.first_error
    assert summary.dead_letters == {Reason.BAD_REPLAY_LINE: 4}
    assert summary.total == len(expected) + 4
    want_per_topic: dict[str, int] = defaultdict(int, {settings.topic_dead_letters: 4})
    for topic, _value, _key in expected:
        want_per_topic[topic] += 1
    assert summary.sent == want_per_topic
    assert summary.lines == len(lines)

    records = consume_all(settings, len(expected))
    got = [(r.topic, r.value, None if r.key is None else r.key.decode()) for r in records]
    assert sorted(got, key=repr) == sorted(expected, key=repr)

    # One account, one partition, in every topic (what the worker's co-partitioning needs).
    partitions_of: dict[str, set[int]] = defaultdict(set)
    for record in records:
        if record.key is not None:
            partitions_of[record.key.decode()].add(record.partition)
    assert partitions_of and all(len(p) == 1 for p in partitions_of.values()), partitions_of
    # And in file order within a key.
    by_key: dict[tuple[str, str], list[bytes]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.topic, r.partition, r.offset)):
        if record.key is not None:
            by_key[record.topic, record.key.decode()].append(record.value)
    for (topic, key), values in by_key.items():
        assert values == [v for t, v, k in expected if t == topic and k == key]

    assert partition_counts(settings) == dict.fromkeys(
        wanted_topics(settings), settings.topic_partitions
    )
    assert f"not-an-input-{settings.app_id}" not in topic_names(settings)


def test_missing_topic_is_an_error_never_auto_created(fresh_names: Settings) -> None:
    """A broker would auto-create it with its default partition count: wrong for good."""
    settings = fresh_names
    payments = settings.topic_payments
    lines = [orjson.dumps({"topic": payments, "value": {"account_id": "a"}})] * 3

    summary = produce_lines(lines, settings)

    assert summary.errors == 3 and summary.total == 0
    assert summary.first_error is not None and payments in summary.first_error
    assert list(summary.failures.values()) == [3]  # one error, counted, not repeated
    assert payments not in topic_names(settings)


def test_extra_topics_and_partition_count(fresh_names: Settings) -> None:
    settings = fresh_names.model_copy(update={"topic_partitions": 3})
    extra_name = f"{settings.app_id}-changelog"
    created = ensure_topics(
        settings, extra={extra_name: {"partitions": 2, "configs": {"cleanup.policy": "compact"}}}
    )
    assert extra_name in created
    counts = partition_counts(settings)
    assert set(counts.values()) == {3}
    admin = KafkaAdminClient(**client_config(settings))
    try:
        (described,) = admin.describe_topics([extra_name])
        assert len(described["partitions"]) == 2
        admin.delete_topics([extra_name], raise_errors=False)
    finally:
        admin.close()


def test_cli_produce(
    fresh_names: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in kafka_environment(fresh_names):
        monkeypatch.setenv(name, value)
    lines, expected = replay_file(fresh_names)
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")

    assert main(["produce", str(path)]) == 0

    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1  # the summary, nothing per line
    assert err[-1].startswith(f"sent {len(expected) + 4} messages (")
    assert err[-1].endswith("; 4 dead letters (bad_replay_line 4)")
    assert len(consume_all(fresh_names, len(expected))) == len(expected)
    assert set(partition_counts(fresh_names).values()) == {fresh_names.topic_partitions}


def test_cli_produce_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["produce", str(tmp_path / "nope.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("growthstream: no such file: ")


def test_cli_produce_unreachable_broker(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROWTH_KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"topic": "payments", "value": {"account_id": "a"}}\n')
    started = time.monotonic()

    assert main(["produce", str(path)]) == 2

    assert time.monotonic() - started < 20
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("growthstream: cannot reach Kafka at 127.0.0.1:1: KafkaTimeoutError: ")
    assert err.count("KafkaTimeoutError") == 1


def _bad_lines(settings: Settings) -> list[bytes]:
    """One line of every kind replay dead-letters before decoding a value, and a good one."""
    payments = settings.topic_payments
    good = _event("payment", "acct-1", 1)
    long_value = {"account_id": "acct-9", "padding": "x" * 4 * settings.dead_letter_raw_bytes}
    return [
        orjson.dumps({"topic": payments, "value": good}),
        b"this line is not JSON",
        b"\xff\xfe not UTF-8 either",
        b"[1, 2, 3]",
        orjson.dumps({"value": good}),  # no topic
        orjson.dumps({"topic": 7, "value": good}),  # a topic that is not a string
        orjson.dumps({"topic": payments}),  # no value
        orjson.dumps({"topic": payments, "value": good, "timestamp": 1.5}),
        orjson.dumps({"topic": payments, "value": good, "timestamp": None}),
        orjson.dumps({"topic": "refunds", "value": good}),  # keyed by the value's account
        orjson.dumps({"topic": "refunds", "key": "k-1", "value": "raw text"}),
        orjson.dumps({"topic": payments.upper(), "value": long_value}),  # cut to raw_limit
    ]


def _comparable(letter: dict[str, Any]) -> dict[str, Any]:
    """A dead letter without where it was found (a file line or nowhere) and when."""
    return {k: v for k, v in letter.items() if k not in ("partition", "offset", "received_at")}


def test_produce_dead_letters_what_replay_dead_letters(fresh_names: Settings) -> None:
    settings = fresh_names.model_copy(update={"dead_letter_raw_bytes": 256})
    ensure_topics(settings)
    lines = _bad_lines(settings)
    replayed: list[DeadLetter] = []
    replay_lines(
        lines, settings, ReplayOutputs(dead_letter=replayed.append), settings.topic_partitions
    )
    want = [_comparable(orjson.loads(letter.to_json())) for letter in replayed]
    assert len(want) == len(lines) - 1
    assert any(letter.get("raw_truncated") for letter in want)

    summary = produce_lines(lines, settings)

    assert summary.errors == 0, summary.failures
    assert summary.dead_letters == dict(Counter(letter["error"]["type"] for letter in want))
    assert summary.sent == {settings.topic_payments: 1, settings.topic_dead_letters: len(want)}
    records = consume_all(settings, len(want), topics=[settings.topic_dead_letters])
    got = [_comparable(orjson.loads(record.value)) for record in records]
    assert sorted(got, key=repr) == sorted(want, key=repr)
    keys = sorted((r.key or b"").decode() for r in records)
    assert keys == sorted(letter["key"] or "" for letter in want)
