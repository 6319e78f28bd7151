"""Tests of the reference oracle itself: bad input (EVENTS.md "Bad input").

Split out of test_oracle.py (same style): every expected number below is
worked out by hand in the comments, from METRICS.md and docs/DECISIONS.md,
not taken from the oracle's output.
"""

from __future__ import annotations

import json

import pytest

from tests.reference.oracle import OracleConfig, oracle_snapshot
from tests.reference.test_oracle import (
    D,
    act,
    check,
    line,
    tick,
)

# --------------------------------------------------------------------------
# bad input

GOOD = {"event_id": "e", "occurred_at": "2026-03-01T00:00:00Z", "account_id": "A"}
GOOD_PAYMENT = GOOD | {"amount": "10.00", "currency": "USD"}
GOOD_SURVEY = GOOD | {"user_id": "u", "score": 9}


@pytest.mark.parametrize(
    ("topic", "value"),
    [
        ("payments", GOOD_PAYMENT | {"amount": True}),
        ("payments", GOOD_PAYMENT | {"amount": "NaN"}),
        ("payments", GOOD_PAYMENT | {"amount": "Infinity"}),
        ("payments", GOOD_PAYMENT | {"amount": "-1"}),
        ("payments", GOOD_PAYMENT | {"amount": -0.01}),
        ("payments", GOOD_PAYMENT | {"amount": "abc"}),
        ("payments", GOOD_PAYMENT | {"amount": " 10"}),
        ("payments", GOOD_PAYMENT | {"amount": None}),
        ("payments", {k: v for k, v in GOOD_PAYMENT.items() if k != "amount"}),
        ("payments", GOOD_PAYMENT | {"currency": "usd"}),
        ("payments", GOOD_PAYMENT | {"currency": "EUR"}),  # no rate configured
        ("payments", GOOD_PAYMENT | {"currency": "USDX"}),
        ("payments", GOOD_PAYMENT | {"currency": None}),
        ("payments", GOOD_PAYMENT | {"status": "pending"}),
        ("payments", GOOD_PAYMENT | {"status": "failed", "currency": "XXX"}),
        ("payments", GOOD_PAYMENT | {"kind": "Subscription"}),
        ("payments", GOOD_PAYMENT | {"interval": "months"}),
        ("payments", GOOD_PAYMENT | {"interval_count": 0}),
        ("payments", GOOD_PAYMENT | {"interval_count": 1.0}),
        ("payments", GOOD_PAYMENT | {"interval_count": "1"}),
        ("payments", GOOD_PAYMENT | {"interval_count": True}),
        ("payments", GOOD_PAYMENT | {"plan": 5}),
        ("payments", GOOD_PAYMENT | {"occurred_at": "2026-03-01T00:00:00"}),  # naive
        ("payments", GOOD_PAYMENT | {"occurred_at": "2026-03-01"}),
        ("payments", GOOD_PAYMENT | {"occurred_at": "yesterday"}),
        ("payments", GOOD_PAYMENT | {"occurred_at": 1772323200}),
        ("payments", GOOD_PAYMENT | {"occurred_at": "2026-02-30T00:00:00Z"}),
        ("payments", GOOD_PAYMENT | {"event_id": ""}),
        ("payments", GOOD_PAYMENT | {"event_id": "x" * 129}),
        ("payments", GOOD_PAYMENT | {"event_id": 7}),
        ("payments", GOOD_PAYMENT | {"account_id": None}),
        ("payments", {k: v for k, v in GOOD_PAYMENT.items() if k != "account_id"}),
        ("surveys", GOOD_SURVEY | {"score": 11}),
        ("surveys", GOOD_SURVEY | {"score": -1}),
        ("surveys", GOOD_SURVEY | {"score": 9.0}),
        ("surveys", GOOD_SURVEY | {"score": "9"}),
        ("surveys", GOOD_SURVEY | {"score": True}),
        ("surveys", GOOD_SURVEY | {"user_id": None}),
        ("surveys", GOOD_SURVEY | {"comment": 3}),
        ("activity", GOOD),  # user_id required
        ("activity", GOOD | {"user_id": "u", "action": ["login"]}),
        ("signups", GOOD | {"trial": "true"}),
        ("signups", GOOD | {"trial": 1}),
        ("signups", GOOD | {"channel": 1}),
        ("cancellations", GOOD | {"effective_at": "2026-02-28T23:59:59Z"}),  # before
        ("cancellations", GOOD | {"effective_at": "2026-03-02T00:00:00"}),  # naive
        ("cancellations", GOOD | {"voluntary": "no"}),
        ("cancellations", GOOD | {"reason": 4}),
        ("payments", "not json"),
        ("payments", '{"event_id": "e"'),
        ("payments", "[1, 2]"),
        ("payments", json.dumps(GOOD_PAYMENT).replace('"10.00"', "NaN")),
        ("payments", json.dumps(GOOD_PAYMENT).replace('"10.00"', "1e400")),
        ("payments", [GOOD_PAYMENT]),
        ("payments", 5),
        ("payments", None),
        ("payments", GOOD_PAYMENT | {"status": None}),  # DECISIONS 26
        ("payments", GOOD_PAYMENT | {"interval_count": None}),
        (
            "signups",
            {
                "event_id": "n1",
                "occurred_at": "2026-03-01T00:00:00Z",
                "account_id": "a",
                "trial": None,
            },
        ),
    ],
)
def test_bad_messages_are_dead_letters(topic: str, value: object) -> None:
    result = oracle_snapshot([line(topic, value)])
    check(result, {"dead_letters": 1, "events": 0, "as_of": None, "mrr": D("0.00")})


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'"payments"',
        b'{"topic": "nope", "value": {}}',
        b'{"topic": 5, "value": {}}',
        b'{"value": {}}',
        b'{"topic": "payments"}',
        b'{"topic": "payments", "value": {"a": NaN}}',
        b"\xff\xfe",
    ],
)
def test_bad_replay_lines_are_dead_letters(raw: bytes) -> None:
    check(oracle_snapshot([raw]), {"dead_letters": 1, "events": 0})


@pytest.mark.parametrize(
    ("topic", "value"),
    [
        ("payments", GOOD_PAYMENT | {"unknown": {"nested": [1, 2.5]}}),  # ignored
        ("payments", GOOD_PAYMENT | {"plan": None}),
        ("payments", GOOD_PAYMENT | {"amount": 10}),
        ("payments", GOOD_PAYMENT | {"amount": "10"}),
        ("payments", GOOD_PAYMENT | {"occurred_at": "2026-03-01T01:00:00+01:00"}),
        ("payments", GOOD_PAYMENT | {"occurred_at": "2026-03-01T00:00:00.000000Z"}),
        ("payments", json.dumps(GOOD_PAYMENT)),  # raw message as a string
        ("payments", json.dumps(GOOD_PAYMENT | {"amount": 10.00})),
        ("signups", GOOD | {"trial": True, "user_id": None, "plan": "pro"}),
        ("cancellations", GOOD | {"effective_at": "2026-03-01T00:00:00Z", "reason": None}),
        ("surveys", GOOD_SURVEY | {"score": 0}),
        ("surveys", GOOD_SURVEY | {"score": 10, "comment": None}),
        ("activity", GOOD | {"user_id": "x" * 128, "event_id": "y" * 128}),
    ],
)
def test_good_messages_apply(topic: str, value: object) -> None:
    result = oracle_snapshot([line(topic, value)])
    check(result, {"dead_letters": 0, "events": 1, "as_of": "2026-03-01T00:00:00Z"})


def test_message_size_limit() -> None:
    raw = json.dumps(GOOD_SURVEY)
    size = len(raw.encode())
    at_limit = OracleConfig(max_message_bytes=size)
    check(oracle_snapshot([line("surveys", raw)], at_limit), {"events": 1})
    below = OracleConfig(max_message_bytes=size - 1)
    check(oracle_snapshot([line("surveys", raw)], below), {"dead_letters": 1})
    # an object value is measured as compact JSON
    compact = len(json.dumps(GOOD_SURVEY, separators=(",", ":")).encode())
    exact = OracleConfig(max_message_bytes=compact)
    check(oracle_snapshot([line("surveys", GOOD_SURVEY)], exact), {"events": 1})
    smaller = OracleConfig(max_message_bytes=compact - 1)
    check(oracle_snapshot([line("surveys", GOOD_SURVEY)], smaller), {"dead_letters": 1})


def test_custom_topic_names() -> None:
    config = OracleConfig(topics={"billing": "payment", "clicks": "activity"})
    lines = [
        line("billing", GOOD_PAYMENT),
        line("clicks", GOOD | {"event_id": "f", "user_id": "u"}),
        line("payments", GOOD_PAYMENT | {"event_id": "g"}),  # not an input topic here
    ]
    check(oracle_snapshot(lines, config), {"events": 2, "dead_letters": 1, "dau": 1})


def test_counts_since_the_start() -> None:
    lines = [
        line("payments", GOOD_PAYMENT),
        line("payments", GOOD_PAYMENT),
        line("payments", GOOD_PAYMENT | {"amount": "-5"}),
        b"{",
        tick("2026-06-01T00:00:00Z"),
        act("A", "u", "2026-01-01T00:00:00Z"),  # late
    ]
    check(oracle_snapshot(lines), {"events": 2, "duplicates": 1, "dead_letters": 3})
