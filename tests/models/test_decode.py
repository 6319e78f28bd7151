"""EVENTS.md, "Bad input" and the field rules: every way a message can be bad, and the good ones.

Each bad message is a dict (or raw bytes) that differs from a valid event in exactly one way,
so the expected `Rejection.type` is the reason of that one defect.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
import pytest

from models.decode import Decoder, Reason, Rejection
from models.events import (
    Activity,
    Cancellation,
    Interval,
    Payment,
    PaymentKind,
    PaymentStatus,
    Signup,
    Survey,
)
from models.outputs import DeadLetter
from models.settings import Settings

SETTINGS = Settings(fx_rates={"USD": 1, "EUR": "1.1"})
DECODER = Decoder(SETTINGS)
WHEN = "2026-03-01T12:00:00Z"
WHEN_DT = datetime(2026, 3, 1, 12, tzinfo=UTC)
BASE = {"event_id": "e-1", "occurred_at": WHEN, "account_id": "acct-1"}

# topic -> a minimal valid value (only the required fields)
VALID: dict[str, dict[str, Any]] = {
    "signups": dict(BASE),
    "payments": {**BASE, "amount": "49.00", "currency": "USD"},
    "cancellations": dict(BASE),
    "activity": {**BASE, "user_id": "u-1"},
    "surveys": {**BASE, "user_id": "u-1", "score": 9},
}
MODEL_OF = {
    "signups": Signup,
    "payments": Payment,
    "cancellations": Cancellation,
    "activity": Activity,
    "surveys": Survey,
}
REQUIRED = {
    "signups": ["event_id", "occurred_at", "account_id"],
    "payments": ["event_id", "occurred_at", "account_id", "amount", "currency"],
    "cancellations": ["event_id", "occurred_at", "account_id"],
    "activity": ["event_id", "occurred_at", "account_id", "user_id"],
    "surveys": ["event_id", "occurred_at", "account_id", "user_id", "score"],
}


def with_(topic: str, **fields: Any) -> bytes:
    """The valid value of `topic` with `fields` replaced, as JSON bytes."""
    return orjson.dumps({**VALID[topic], **fields})


def without(topic: str, name: str) -> bytes:
    return orjson.dumps({k: v for k, v in VALID[topic].items() if k != name})


def payment_with_bare_amount(token: str) -> bytes:
    """A payment whose `amount` is a bare JSON-ish token (orjson cannot write NaN)."""
    body = orjson.dumps({k: v for k, v in VALID["payments"].items() if k != "amount"})
    return body[:-1] + b',"amount":' + token.encode() + b"}"


def decode(topic: str, raw: bytes, decoder: Decoder = DECODER) -> Any:
    return decoder.decode(topic, raw)


# (id, topic, raw bytes, expected Rejection.type)
BAD: list[tuple[str, str, bytes, str]] = [
    # --- not JSON / not an object --------------------------------------------------------------
    ("not JSON: garbage", "payments", b"{not json", Reason.NOT_JSON),
    ("not JSON: empty", "payments", b"", Reason.NOT_JSON),
    ("not JSON: truncated", "payments", with_("payments")[:-1], Reason.NOT_JSON),
    ("not JSON: trailing garbage", "payments", with_("payments") + b"}", Reason.NOT_JSON),
    ("not JSON: single quotes", "activity", b"{'event_id': 'e'}", Reason.NOT_JSON),
    ("not an object: array", "payments", b"[1, 2]", Reason.NOT_OBJECT),
    ("not an object: array of the event", "payments", b"[" + with_("payments") + b"]",
     Reason.NOT_OBJECT),
    ("not an object: string", "payments", b'"hello"', Reason.NOT_OBJECT),
    ("not an object: null", "payments", b"null", Reason.NOT_OBJECT),
    ("not an object: number", "payments", b"12", Reason.NOT_OBJECT),
    ("not an object: bool", "surveys", b"true", Reason.NOT_OBJECT),
    # --- wrong types -------------------------------------------------------------------------
    ("score as string", "surveys", with_("surveys", score="7"), Reason.WRONG_TYPE),
    ("score as float 7.0", "surveys", with_("surveys", score=7.0), Reason.WRONG_TYPE),
    ("score as bool", "surveys", with_("surveys", score=True), Reason.WRONG_TYPE),
    ("interval_count as string", "payments", with_("payments", interval_count="2"),
     Reason.WRONG_TYPE),
    ("interval_count as float 1.0", "payments", with_("payments", interval_count=1.0),
     Reason.WRONG_TYPE),
    ("trial as string true", "signups", with_("signups", trial="true"), Reason.WRONG_TYPE),
    ("trial as int 1", "signups", with_("signups", trial=1), Reason.WRONG_TYPE),
    ("voluntary as string true", "cancellations", with_("cancellations", voluntary="true"),
     Reason.WRONG_TYPE),
    ("event_id as int", "payments", with_("payments", event_id=0), Reason.WRONG_TYPE),
    ("account_id as int", "activity", with_("activity", account_id=42), Reason.WRONG_TYPE),
    ("user_id as int", "surveys", with_("surveys", user_id=7), Reason.WRONG_TYPE),
    ("user_id null", "activity", with_("activity", user_id=None), Reason.WRONG_TYPE),
    ("plan as int", "signups", with_("signups", plan=3), Reason.WRONG_TYPE),
    ("amount as bool", "payments", with_("payments", amount=True), Reason.WRONG_TYPE),
    ("amount as list", "payments", with_("payments", amount=["49"]), Reason.WRONG_TYPE),
    ("amount not a number", "payments", with_("payments", amount="forty"), Reason.WRONG_TYPE),
    ("currency as int", "payments", with_("payments", currency=840), Reason.WRONG_TYPE),
    # --- timestamps ----------------------------------------------------------------------------
    ("naive occurred_at", "payments", with_("payments", occurred_at="2026-03-01T12:00:00"),
     Reason.NAIVE_TIMESTAMP),
    ("naive effective_at", "cancellations",
     with_("cancellations", effective_at="2026-04-01T12:00:00"), Reason.NAIVE_TIMESTAMP),
    ("date-only occurred_at", "activity", with_("activity", occurred_at="2026-03-01"),
     Reason.WRONG_TYPE),
    ("unix number occurred_at", "activity", with_("activity", occurred_at=1772366400),
     Reason.WRONG_TYPE),
    # "a number inside a string ... is a wrong type", and it is no RFC 3339 timestamp either
    ("unix number in a string occurred_at", "activity",
     with_("activity", occurred_at="1772366400"), Reason.WRONG_TYPE),
    ("occurred_at not a date", "activity", with_("activity", occurred_at="yesterday"),
     Reason.WRONG_TYPE),
    ("occurred_at hour 24", "activity", with_("activity", occurred_at="2026-03-01T24:00:00Z"),
     Reason.WRONG_TYPE),
    # --- amount --------------------------------------------------------------------------------
    ("negative amount string", "payments", with_("payments", amount="-0.01"),
     Reason.NEGATIVE_AMOUNT),
    ("negative amount number", "payments", with_("payments", amount=-5), Reason.NEGATIVE_AMOUNT),
    ("NaN amount string", "payments", with_("payments", amount="NaN"), Reason.INVALID_VALUE),
    ("Infinity amount string", "payments", with_("payments", amount="Infinity"),
     Reason.INVALID_VALUE),
    ("-Infinity amount string", "payments", with_("payments", amount="-Infinity"),
     Reason.INVALID_VALUE),
    ("NaN amount bare token", "payments", payment_with_bare_amount("NaN"), Reason.INVALID_VALUE),
    ("Infinity amount bare token", "payments", payment_with_bare_amount("Infinity"),
     Reason.INVALID_VALUE),
    ("-Infinity amount bare token", "payments", payment_with_bare_amount("-Infinity"),
     Reason.INVALID_VALUE),
    ("amount 1e400 overflows to infinity", "payments", payment_with_bare_amount("1e400"),
     Reason.INVALID_VALUE),
    # DECISIONS.md 27: at most 10^12 per payment
    ("amount above 10^12", "payments", with_("payments", amount="1000000000000.01"),
     Reason.INVALID_VALUE),
    ("amount 1e26 as number", "payments", payment_with_bare_amount("1e26"), Reason.INVALID_VALUE),
    # --- score ---------------------------------------------------------------------------------
    ("score -1", "surveys", with_("surveys", score=-1), Reason.SCORE_OUT_OF_RANGE),
    ("score 11", "surveys", with_("surveys", score=11), Reason.SCORE_OUT_OF_RANGE),
    # --- currency (DECISIONS.md 22: not 3 upper-case letters, or no configured rate) -----------
    ("currency JPY not configured", "payments", with_("payments", currency="JPY"),
     Reason.UNKNOWN_CURRENCY),
    ("currency JPY on a failed payment", "payments",
     with_("payments", currency="JPY", status="failed"), Reason.UNKNOWN_CURRENCY),
    ("currency JPY on a one-time payment", "payments",
     with_("payments", currency="JPY", kind="one_time"), Reason.UNKNOWN_CURRENCY),
    ("currency lowercase usd", "payments", with_("payments", currency="usd"),
     Reason.UNKNOWN_CURRENCY),
    ("currency 4 letters", "payments", with_("payments", currency="USDX"),
     Reason.UNKNOWN_CURRENCY),
    ("currency 2 letters", "payments", with_("payments", currency="US"), Reason.UNKNOWN_CURRENCY),
    # --- effective_at --------------------------------------------------------------------------
    ("effective_at before occurred_at", "cancellations",
     with_("cancellations", effective_at="2026-03-01T11:59:59Z"),
     Reason.EFFECTIVE_BEFORE_OCCURRED),
    ("effective_at before occurred_at across offsets", "cancellations",
     with_("cancellations", effective_at="2026-03-01T13:00:00+02:00"),
     Reason.EFFECTIVE_BEFORE_OCCURRED),
    ("occurred_at past the year 9999 in UTC", "activity",
     with_("activity", occurred_at="9999-12-31T23:00:00-05:00"), Reason.INVALID_VALUE),
    ("occurred_at before the year 1 in UTC", "signups",
     with_("signups", occurred_at="0001-01-01T00:30:00+01:00"), Reason.INVALID_VALUE),
    ("effective_at past the year 9999 in UTC", "cancellations",
     with_("cancellations", effective_at="9999-12-31T23:30:00-01:00"), Reason.INVALID_VALUE),
    # --- ids -----------------------------------------------------------------------------------
    ("event_id of 0 chars", "payments", with_("payments", event_id=""), Reason.INVALID_VALUE),
    ("event_id of 129 chars", "payments", with_("payments", event_id="x" * 129),
     Reason.INVALID_VALUE),
    ("account_id of 0 chars", "signups", with_("signups", account_id=""), Reason.INVALID_VALUE),
    ("account_id of 129 chars", "signups", with_("signups", account_id="a" * 129),
     Reason.INVALID_VALUE),
    ("user_id of 0 chars", "activity", with_("activity", user_id=""), Reason.INVALID_VALUE),
    ("user_id of 129 chars", "surveys", with_("surveys", user_id="u" * 129),
     Reason.INVALID_VALUE),
    # --- enums and interval_count --------------------------------------------------------------
    ("unknown status", "payments", with_("payments", status="pending"), Reason.WRONG_TYPE),
    ("status in upper case", "payments", with_("payments", status="SUCCEEDED"),
     Reason.WRONG_TYPE),
    ("unknown kind", "payments", with_("payments", kind="usage"), Reason.WRONG_TYPE),
    ("unknown interval", "payments", with_("payments", interval="decade"), Reason.WRONG_TYPE),
    ("interval_count 0", "payments", with_("payments", interval_count=0), Reason.INVALID_VALUE),
    ("interval_count -1", "payments", with_("payments", interval_count=-1),
     Reason.INVALID_VALUE),
    # --- bytes and topics ----------------------------------------------------------------------
    ("invalid UTF-8 alone", "payments", b"\xff\xfe", Reason.NOT_JSON),
    ("invalid UTF-8 inside a string", "activity",
     with_("activity", user_id="u").replace(b'"u"', b'"\xff\xfe"'), Reason.NOT_JSON),
    ("unknown topic", "refunds", with_("payments"), Reason.BAD_REPLAY_LINE),
    ("topic of another name case", "Payments", with_("payments"), Reason.BAD_REPLAY_LINE),
] + [
    (f"missing {name} ({topic})", topic, without(topic, name), Reason.MISSING_FIELD)
    for topic, names in REQUIRED.items()
    for name in names
]  # fmt: skip


@pytest.mark.parametrize(("topic", "raw", "reason"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_is_rejected_with_its_reason(topic: str, raw: bytes, reason: str) -> None:
    decoded = decode(topic, raw)
    assert isinstance(decoded, Rejection), decoded
    assert decoded.type == reason, decoded
    assert decoded.message


def test_every_reason_of_a_bad_message_is_in_the_table() -> None:
    reasons = {c[3] for c in BAD} | {Reason.TOO_LARGE}
    expected = {
        value
        for name, value in vars(Reason).items()
        if name.isupper() and value not in (Reason.LATE, Reason.FUTURE)
    }
    assert reasons == expected


@pytest.mark.parametrize("topic", list(VALID))
def test_oversized_message(topic: str) -> None:
    raw = orjson.dumps({**VALID[topic], "comment": "x" * 200})
    exact = Decoder(Settings(max_message_bytes=len(raw)))
    assert not isinstance(decode(topic, raw, exact), Rejection)
    small = Decoder(Settings(max_message_bytes=len(raw) - 1))
    rejected = decode(topic, raw, small)
    assert isinstance(rejected, Rejection)
    assert rejected.type == Reason.TOO_LARGE


def test_oversized_wins_over_any_other_defect() -> None:
    small = Decoder(Settings(max_message_bytes=64))
    for raw in (b"\xff" * 65, b"[" + b"1," * 40 + b"1]", b"x" * 1000):
        rejected = decode("payments", raw, small)
        assert isinstance(rejected, Rejection)
        assert rejected.type == Reason.TOO_LARGE


# --- good inputs ---------------------------------------------------------------------------------

GOOD: list[tuple[str, str, bytes, dict[str, Any]]] = [
    ("amount as string keeps its digits", "payments", with_("payments", amount="49.10"),
     {"amount": Decimal("49.10")}),
    ("amount as number is a decimal, not a float", "payments", with_("payments", amount=49.1),
     {"amount": Decimal("49.10")}),
    ("amount as integer", "payments", with_("payments", amount=49), {"amount": Decimal(49)}),
    ("amount 0", "payments", with_("payments", amount="0"), {"amount": Decimal(0)}),
    ("amount exactly 10^12", "payments", with_("payments", amount="1000000000000"),
     {"amount": Decimal(10**12)}),
    ("amount many decimals", "payments", with_("payments", amount="0.123456789"),
     {"amount": Decimal("0.123456789")}),
    ("offset +02:00", "payments", with_("payments", occurred_at="2026-03-01T14:00:00+02:00"),
     {"occurred_at": WHEN_DT}),
    ("offset -05:30", "activity", with_("activity", occurred_at="2026-03-01T06:30:00-05:30"),
     {"occurred_at": WHEN_DT}),
    ("fractional seconds", "activity",
     with_("activity", occurred_at="2026-03-01T12:00:00.250000Z"),
     {"occurred_at": WHEN_DT + timedelta(milliseconds=250)}),
    ("lowercase z (RFC 3339 allows it)", "activity",
     with_("activity", occurred_at="2026-03-01t12:00:00z"), {"occurred_at": WHEN_DT}),
    ("the first instant of year 1 in UTC, west of it", "activity",
     with_("activity", occurred_at="0001-01-01T00:00:00-01:00"),
     {"occurred_at": datetime(1, 1, 1, 1, tzinfo=UTC)}),
    ("the last hour of year 9999 in UTC, east of it", "activity",
     with_("activity", occurred_at="9999-12-31T23:00:00+05:00"),
     {"occurred_at": datetime(9999, 12, 31, 18, tzinfo=UTC)}),
    ("the last microsecond of year 9999 in UTC", "activity",
     with_("activity", occurred_at="9999-12-31T23:59:59.999999Z"),
     {"occurred_at": datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)}),
    ("unknown extra fields ignored", "payments",
     with_("payments", coupon="SPRING", nested={"a": [1, None]}, tax=None, amount="10"),
     {"amount": Decimal(10)}),
    ("payment defaults", "payments", with_("payments"),
     {"status": PaymentStatus.SUCCEEDED, "kind": PaymentKind.SUBSCRIPTION,
      "interval": Interval.MONTH, "interval_count": 1, "plan": None}),
    ("payment all fields", "payments",
     with_("payments", status="refunded", kind="one_time", interval="year", interval_count=2,
           plan="pro", currency="EUR"),
     {"status": PaymentStatus.REFUNDED, "kind": PaymentKind.ONE_TIME,
      "interval": Interval.YEAR, "interval_count": 2, "plan": "pro", "currency": "EUR"}),
    ("signup defaults", "signups", with_("signups"),
     {"trial": False, "user_id": None, "plan": None, "channel": None}),
    ("optional strings may be null", "signups", with_("signups", plan=None, channel=None),
     {"plan": None, "channel": None}),
    ("cancellation defaults", "cancellations", with_("cancellations"),
     {"effective_at": None, "effective": WHEN_DT, "voluntary": True, "reason": None}),
    ("effective_at null is occurred_at", "cancellations",
     with_("cancellations", effective_at=None), {"effective": WHEN_DT}),
    ("effective_at equal to occurred_at", "cancellations",
     with_("cancellations", effective_at="2026-03-01T14:00:00+02:00"), {"effective": WHEN_DT}),
    ("effective_at in the future", "cancellations",
     with_("cancellations", effective_at="2026-04-01T00:00:00Z", voluntary=False),
     {"effective": datetime(2026, 4, 1, tzinfo=UTC), "voluntary": False}),
    ("survey score 0", "surveys", with_("surveys", score=0), {"score": 0}),
    ("survey score 10", "surveys", with_("surveys", score=10), {"score": 10}),
    ("ids of 128 chars", "activity",
     with_("activity", event_id="e" * 128, account_id="a" * 128, user_id="u" * 128),
     {"event_id": "e" * 128, "account_id": "a" * 128}),
    ("ids of 128 non-ASCII chars", "activity", with_("activity", event_id="é" * 128),
     {"event_id": "é" * 128}),
    ("ids of 1 char", "activity", with_("activity", event_id="1", account_id="a", user_id="u"),
     {"event_id": "1"}),
    ("activity action", "activity", with_("activity", action="report.export"),
     {"action": "report.export"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("topic", "raw", "expected"), [c[1:] for c in GOOD], ids=[c[0] for c in GOOD]
)
def test_good_input_is_accepted(topic: str, raw: bytes, expected: dict[str, Any]) -> None:
    event = decode(topic, raw)
    assert isinstance(event, MODEL_OF[topic]), event
    for name, value in expected.items():
        got = getattr(event, name)
        assert got == value, (name, got)
        assert type(got) is type(value) or isinstance(value, datetime | None), (name, type(got))


def test_amount_is_never_a_binary_float() -> None:
    event = decode("payments", with_("payments", amount=49.1))
    assert isinstance(event, Payment)
    assert isinstance(event.amount, Decimal)
    assert event.amount == Decimal("49.10")
    assert event.amount != Decimal.from_float(49.1)  # the binary 49.1000000000000014...


def test_timestamps_keep_their_instant_and_are_aware() -> None:
    event = decode("payments", with_("payments", occurred_at="2026-03-01T01:30:00+02:00"))
    assert isinstance(event, Payment)
    assert event.occurred_at.utcoffset() == timedelta(hours=2)
    assert event.occurred_at == datetime(2026, 2, 28, 23, 30, tzinfo=UTC)
    assert event.occurred_at == datetime(2026, 3, 1, 1, 30, tzinfo=timezone(timedelta(hours=2)))


# --- dead letters keep the raw bytes --------------------------------------------------------------


def test_dead_letter_of_non_utf8_bytes_is_base64() -> None:
    rejection = Rejection(Reason.NOT_JSON, "not JSON")
    letter = DeadLetter.of(
        rejection, b"\xff\xfe", topic="payments", partition=3, offset=7, key="k"
    ).model_dump()
    assert letter["raw_encoding"] == "base64"
    assert letter["raw"] == base64.b64encode(b"\xff\xfe").decode("ascii") == "//4="
    assert base64.b64decode(letter["raw"]) == b"\xff\xfe"
    assert letter["error"] == {"type": Reason.NOT_JSON, "message": "not JSON", "details": []}
    assert (letter["topic"], letter["partition"], letter["offset"], letter["key"]) == (
        "payments", 3, 7, "k",
    )  # fmt: skip


def test_dead_letter_of_utf8_bytes_is_text() -> None:
    raw = '{"a": "é"}'.encode()
    letter = DeadLetter.of(
        Rejection(Reason.NOT_OBJECT, "x"), raw, topic=None, partition=None, offset=None, key=None
    ).model_dump()
    assert letter["raw_encoding"] == "utf-8"
    assert letter["raw"].encode("utf-8") == raw
