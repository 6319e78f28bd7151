"""Reading replay lines for the oracle (see ``oracle.py``): hand-written
validation of EVENTS.md, the line's record time and its message key.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

from tests.reference.oracle_config import EPOCH, KIND_RANK, ONE_US, OTHER_RANK, OracleConfig

__all__ = ["Event", "Message", "read_messages"]

# RFC 3339 date-time in its usual form: "T" separator, seconds required,
# optional fraction, "Z" or a +-HH:MM offset (the offset is mandatory).
_TIMESTAMP_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})"
)
_CURRENCY_RE = re.compile(r"[A-Z]{3}")
# a decimal number written as text: no blanks, no "_", no NaN/Infinity
_AMOUNT_RE = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


@dataclass(frozen=True)
class Event:
    """A valid event: checked, normalised fields (the unused ones keep defaults)."""

    kind: str  # signup | payment | cancellation | activity | survey
    event_id: str
    account_id: str
    t: int  # occurred_at, µs
    plan: str | None = None  # signup, payment
    amount: Decimal = Decimal(0)  # payment
    rate: Fraction = Fraction(1)  # payment: its currency -> reporting currency
    status: str = "succeeded"  # payment
    payment_kind: str = "subscription"  # payment
    interval: str = "month"  # payment
    interval_count: int = 1  # payment
    effective: int = 0  # cancellation: effective_at, µs
    subscription: str | None = None  # payment (None: the account's one), cancellation (None: all)
    quantity: int = 1  # payment
    tax: Decimal = Decimal(0)  # payment: the tax inside `amount`
    user_id: str = ""  # activity, survey
    score: int = 0  # survey


@dataclass(frozen=True)
class Message:
    """One non-blank replay line."""

    position: int  # among the non-blank lines of the file, from 0
    event: Event | None  # None: a bad message (dead letter)
    record_ms: int | None  # the line's "timestamp", when it has a valid one
    stamp: int  # the effective record timestamp used by the partition merge
    rank: int  # topic rank in the merge
    key: bytes | None  # the message key (None: no key)


class _Bad(Exception):
    """A message that goes to dead letters."""


def _reject_constant(name: str) -> object:
    raise _Bad(f"not JSON: {name}")


def _strict_float(text: str) -> Decimal:
    # A number literal that a binary double cannot hold (1e400) is an infinity
    # for any real JSON parser; NaN and infinities are rejected.
    if math.isinf(float(text)):
        raise _Bad(f"number out of range: {text}")
    return Decimal(text)


def _loads(text: str) -> object:
    try:
        return json.loads(text, parse_float=_strict_float, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise _Bad(f"not JSON: {exc}") from None


def _compact_json(value: object) -> str:
    """The message as a producer would send it: compact JSON, UTF-8 text."""
    if type(value) is dict:
        parts = []
        for key, item in value.items():
            parts.append(json.dumps(key, ensure_ascii=False) + ":" + _compact_json(item))
        return "{" + ",".join(parts) + "}"
    if type(value) is list:
        parts = []
        for item in value:
            parts.append(_compact_json(item))
        return "[" + ",".join(parts) + "]"
    if type(value) is Decimal:
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _id(msg: dict[str, object], name: str) -> str:
    value = msg.get(name)
    if type(value) is not str or not 1 <= len(value) <= 128:
        raise _Bad(f"{name} must be a string of 1-128 chars")
    return value


def _opt_id(msg: dict[str, object], name: str) -> str | None:
    return None if msg.get(name) is None else _id(msg, name)


def _opt_str(msg: dict[str, object], name: str) -> str | None:
    value = msg.get(name)
    if value is None:
        return None
    if type(value) is not str:
        raise _Bad(f"{name} must be a string")
    return value


def _opt_bool(msg: dict[str, object], name: str, default: bool) -> bool:
    if name not in msg:
        return default  # DECISIONS 26: an explicit null is a wrong type here
    value = msg[name]
    if type(value) is not bool:
        raise _Bad(f"{name} must be a bool")
    return value


def _opt_enum(msg: dict[str, object], name: str, allowed: tuple[str, ...], default: str) -> str:
    if name not in msg:
        return default  # DECISIONS 26: an explicit null is a wrong type here
    value = msg[name]
    if type(value) is not str or value not in allowed:
        raise _Bad(f"{name} must be one of {allowed}")
    return value


def _timestamp(value: object, name: str) -> int:
    if type(value) is not str or not _TIMESTAMP_RE.fullmatch(value):
        raise _Bad(f"{name} must be an RFC 3339 timestamp with offset")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _Bad(f"{name}: {exc}") from None
    if parsed.utcoffset() is None:
        raise _Bad(f"{name} is naive")
    try:
        parsed.astimezone(UTC)  # must exist as a UTC time
    except OverflowError:
        raise _Bad(f"{name} out of range") from None
    return (parsed - EPOCH) // ONE_US


def _amount(value: object) -> Decimal:
    if type(value) is str:
        if not _AMOUNT_RE.fullmatch(value):
            raise _Bad("amount is not a decimal number")
        amount = Decimal(value)
    elif type(value) is int:
        amount = Decimal(value)
    elif type(value) is Decimal:
        amount = value
    else:
        raise _Bad("amount must be a JSON string or number")
    if not amount.is_finite() or amount < 0:
        raise _Bad("amount must be finite and >= 0")
    return amount


def _validate(kind: str, msg: object, rates: Mapping[str, Fraction]) -> Event:
    """The event with its checked, normalised fields."""
    if type(msg) is not dict:
        raise _Bad("value is not a JSON object")
    base = {
        "event_id": _id(msg, "event_id"),
        "account_id": _id(msg, "account_id"),
    }
    t = _timestamp(msg.get("occurred_at"), "occurred_at")
    if kind == "signup":
        _opt_str(msg, "user_id")
        plan = _opt_str(msg, "plan")
        _opt_bool(msg, "trial", False)
        _opt_str(msg, "channel")
        return Event(kind, base["event_id"], base["account_id"], t, plan=plan)
    if kind == "payment":
        if "amount" not in msg:
            raise _Bad("amount missing")
        amount = _amount(msg["amount"])
        currency = msg.get("currency")
        if type(currency) is not str or not _CURRENCY_RE.fullmatch(currency):
            raise _Bad("currency must be 3 upper-case letters")
        if currency not in rates:
            raise _Bad(f"unknown currency {currency}")
        status = _opt_enum(msg, "status", ("succeeded", "failed", "refunded"), "succeeded")
        payment_kind = _opt_enum(msg, "kind", ("subscription", "one_time"), "subscription")
        interval = _opt_enum(msg, "interval", ("day", "week", "month", "quarter", "year"), "month")
        count = msg.get("interval_count", 1)
        if type(count) is not int or count < 1:
            raise _Bad("interval_count must be an int >= 1")
        plan = _opt_str(msg, "plan")
        subscription = _opt_id(msg, "subscription_id")
        quantity = msg.get("quantity", 1)
        if type(quantity) is not int or quantity < 1:
            raise _Bad("quantity must be an int >= 1")
        tax = _amount(msg["tax_amount"]) if "tax_amount" in msg else Decimal(0)
        if tax > amount:
            raise _Bad("tax_amount above amount")
        return Event(
            kind,
            base["event_id"],
            base["account_id"],
            t,
            plan=plan,
            amount=amount,
            subscription=subscription,
            quantity=quantity,
            tax=tax,
            rate=rates[currency],
            status=status,
            payment_kind=payment_kind,
            interval=interval,
            interval_count=count,
        )
    if kind == "cancellation":
        effective = t
        if msg.get("effective_at") is not None:
            effective = _timestamp(msg["effective_at"], "effective_at")
            if effective < t:
                raise _Bad("effective_at before occurred_at")
        _opt_str(msg, "reason")
        _opt_bool(msg, "voluntary", True)
        _opt_str(msg, "comment")
        subscription = _opt_id(msg, "subscription_id")
        return Event(
            kind, base["event_id"], base["account_id"], t, effective=effective,
            subscription=subscription,
        )  # fmt: skip
    if kind == "activity":
        user_id = _id(msg, "user_id")
        _opt_str(msg, "action")
        return Event(kind, base["event_id"], base["account_id"], t, user_id=user_id)
    if kind == "survey":
        user_id = _id(msg, "user_id")
        score = msg.get("score")
        if type(score) is not int or not 0 <= score <= 10:
            raise _Bad("score must be an int 0..10")
        _opt_str(msg, "comment")
        return Event(kind, base["event_id"], base["account_id"], t, user_id=user_id, score=score)
    raise _Bad(f"unknown event kind {kind}")  # a topics mapping naming an unknown kind


def _wrapper(line: bytes | str) -> object:
    """The replay line parsed as JSON, or raises _Bad."""
    if isinstance(line, bytes):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            raise _Bad("replay line is not UTF-8") from None
    else:
        text = line
    return _loads(text)


def _event(wrapper: object, config: OracleConfig, rates: Mapping[str, Fraction]) -> Event:
    """A parsed replay line -> a validated event, or raises _Bad (a dead letter)."""
    if (
        type(wrapper) is not dict
        or type(wrapper.get("topic")) is not str
        or wrapper["topic"] not in config.topics
        or "value" not in wrapper
    ):
        raise _Bad("bad_replay_line")  # D23
    # EVENTS.md "Replay file": "timestamp" is optional, an int of ms when present
    # (present and null, a bool or a float: a bad replay line, brief item 1)
    if "timestamp" in wrapper and type(wrapper["timestamp"]) is not int:
        raise _Bad("bad_replay_line: timestamp must be an int")
    kind = config.topics[wrapper["topic"]]
    value = wrapper["value"]
    # the raw message: the string's UTF-8 bytes, or the object as compact JSON
    try:
        raw_text = value if type(value) is str else _compact_json(value)
        size = len(raw_text.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate: not a UTF-8 message
        raise _Bad("message is not UTF-8") from None
    except RecursionError:
        raise _Bad("message nested too deeply") from None
    if size > config.max_message_bytes:
        raise _Bad("message too large")
    message = _loads(value) if type(value) is str else value
    return _validate(kind, message, rates)


def _utf8(text: object) -> bytes | None:
    if type(text) is not str:
        return None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate has no UTF-8 bytes: unusable
        return None


def _key(wrapper: object) -> bytes | None:
    """The message key: the line's "key" string, else the value's account_id."""
    if type(wrapper) is not dict:
        return None
    key = _utf8(wrapper.get("key"))
    if key is not None:
        return key
    value = wrapper.get("value")
    if type(value) is str:
        try:
            value = _loads(value)
        except _Bad:
            return None
    if type(value) is not dict:
        return None
    return _utf8(value.get("account_id"))


def _rank(wrapper: object, config: OracleConfig) -> int:
    if type(wrapper) is not dict:
        return OTHER_RANK
    topic = wrapper.get("topic")
    if type(topic) is not str or topic not in config.topics:
        return OTHER_RANK
    return KIND_RANK.get(config.topics[topic], OTHER_RANK)


def read_messages(lines: Iterable[bytes | str], config: OracleConfig) -> list[Message]:
    """Every non-blank line of the file, read and validated, in file order."""
    rates = {code: Fraction(Decimal(str(rate))) for code, rate in config.fx_rates.items()}
    rates[config.reporting_currency] = Fraction(1)
    messages: list[Message] = []
    stamp = 0  # the running effective timestamp: a line without one gets previous + 1 ms
    for line in lines:
        if not line.strip():
            continue  # a blank line is no message (and has no record time)
        try:
            wrapper: object = _wrapper(line)
        except _Bad:
            wrapper = None
        record_ms = None
        if type(wrapper) is dict and type(wrapper.get("timestamp")) is int:
            record_ms = wrapper["timestamp"]
        stamp = record_ms if record_ms is not None else stamp + 1
        try:
            event: Event | None = None if wrapper is None else _event(wrapper, config, rates)
        except _Bad:
            event = None
        messages.append(
            Message(
                position=len(messages),
                event=event,
                record_ms=record_ms,
                stamp=stamp,
                rank=_rank(wrapper, config),
                key=_key(wrapper),
            )
        )
    return messages
