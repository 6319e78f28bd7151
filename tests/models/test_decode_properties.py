"""`Decoder.decode` on arbitrary input: it never raises, and what it accepts follows EVENTS.md."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.decode import Decoder, Reason, Rejection
from models.events import MAX_AMOUNT, MODELS, Payment, Survey
from models.settings import Settings

SETTINGS = Settings(fx_rates={"USD": 1, "EUR": "1.1"})
DECODER = Decoder(SETTINGS)
TOPICS = list(SETTINGS.input_topics())
KIND_OF = SETTINGS.input_topics()
REASONS = frozenset(v for k, v in vars(Reason).items() if k.isupper())
FIELDS = sorted({name for model in MODELS.values() for name in model.model_fields})
FAST = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_outcome(topic: str, raw: bytes, decoded: Any) -> None:
    """What any outcome of `decode` must satisfy, whatever the input."""
    if isinstance(decoded, Rejection):
        assert decoded.type in REASONS, decoded
        # the catch-all of `decode` is for bugs: every bad message has a precise reason
        assert not decoded.message.startswith("undecodable message"), decoded
        return
    assert type(decoded) is MODELS[KIND_OF[topic]], decoded
    assert len(raw) <= SETTINGS.max_message_bytes
    assert decoded.occurred_at.utcoffset() is not None
    assert 1 <= len(decoded.event_id) <= 128
    assert 1 <= len(decoded.account_id) <= 128
    if isinstance(decoded, Payment):
        assert isinstance(decoded.amount, Decimal)
        assert decoded.amount.is_finite()
        assert decoded.amount >= 0
        assert decoded.amount <= MAX_AMOUNT  # DECISIONS.md 27
        assert decoded.currency in SETTINGS.fx_rates
        assert decoded.interval_count >= 1
    if isinstance(decoded, Survey):
        assert 0 <= decoded.score <= 10
    effective_at = getattr(decoded, "effective_at", None)
    if effective_at is not None:
        assert effective_at >= decoded.occurred_at


@FAST
@given(topic=st.sampled_from([*TOPICS, "unknown-topic", ""]), raw=st.binary(max_size=300))
def test_decode_never_raises_on_bytes(topic: str, raw: bytes) -> None:
    decoded = DECODER.decode(topic, raw)
    check_outcome(topic, raw, decoded)
    if topic not in KIND_OF:
        assert isinstance(decoded, Rejection)


# --- JSON-ish objects with the real field names ---------------------------------------------

timestamps = st.one_of(
    st.datetimes(
        min_value=datetime(1, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.sampled_from([UTC, None]) | st.timezones(),  # type: ignore[arg-type]
    ).map(lambda d: d.isoformat()),
    st.sampled_from(["2026-03-01T12:00:00Z", "2026-03-01", "2026-03-01T12:00:00", "", "Z"]),
)


def plausible(text: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.one_of(
        timestamps,
        st.decimals(allow_nan=True, allow_infinity=True).map(str),
        st.sampled_from(
            ["USD", "EUR", "JPY", "usd", "succeeded", "failed", "refunded", "subscription",
             "one_time", "day", "week", "month", "quarter", "year", "NaN", "-0", "1e999999"]
        ),
        st.integers(min_value=-3, max_value=12),
        text,
    )  # fmt: skip


def json_values(text: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        text,
        plausible(text),
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(text | st.sampled_from(FIELDS), children, max_size=4)
        ),
        max_leaves=12,
    )


any_json = json_values(st.text(max_size=20))
objects = st.dictionaries(
    st.sampled_from(FIELDS) | st.text(max_size=10),
    st.one_of(plausible(st.text(max_size=140)), any_json),
    max_size=len(FIELDS) + 3,
)


def to_json(value: Any, ensure_ascii: bool) -> bytes:
    # json (not orjson): it writes NaN, Infinity and big integers as Python reads them
    text = json.dumps(value, ensure_ascii=ensure_ascii, allow_nan=True)
    return text.encode("utf-8", "surrogatepass")


@FAST
@given(
    topic=st.sampled_from(TOPICS),
    value=st.one_of(objects, any_json),
    ensure_ascii=st.booleans(),
)
def test_decode_never_raises_on_json_objects(topic: str, value: Any, ensure_ascii: bool) -> None:
    raw = to_json(value, ensure_ascii)
    decoded = DECODER.decode(topic, raw)
    check_outcome(topic, raw, decoded)
    if not isinstance(value, dict):
        assert isinstance(decoded, Rejection)
        assert decoded.type in (Reason.NOT_OBJECT, Reason.NOT_JSON), decoded


@FAST
@given(
    topic=st.sampled_from(TOPICS),
    base=st.fixed_dictionaries(
        {
            "event_id": st.text(min_size=1, max_size=5),
            "occurred_at": st.just("2026-03-01T12:00:00Z"),
            "account_id": st.text(min_size=1, max_size=5),
            "user_id": st.text(min_size=1, max_size=5),
            "amount": st.just("1.00"),
            "currency": st.just("USD"),
            "score": st.just(5),
        }
    ),
    overrides=objects,
)
def test_valid_events_with_random_fields_never_raise(
    topic: str, base: dict[str, Any], overrides: dict[str, Any]
) -> None:
    raw = to_json({**base, **overrides}, ensure_ascii=True)
    check_outcome(topic, raw, DECODER.decode(topic, raw))


# --- valid events, re-encoded with extra fields ---------------------------------------------

ids = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=128)
aware = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.integers(min_value=-14 * 60 + 1, max_value=14 * 60 - 1).map(
        lambda minutes: UTC if minutes == 0 else timezone(timedelta(minutes=minutes))
    ),
)
optional_text = st.none() | st.text(st.characters(exclude_categories=["Cs"]), max_size=20)
amounts = st.decimals(min_value=0, max_value=10**9, places=2)


def common() -> dict[str, Any]:
    return {"event_id": ids, "occurred_at": aware, "account_id": ids}


events = st.one_of(
    st.fixed_dictionaries(
        {"topic": st.just("signups"), **common()},
        optional={"user_id": optional_text, "plan": optional_text, "trial": st.booleans(),
                  "channel": optional_text},
    ),
    st.fixed_dictionaries(
        {"topic": st.just("payments"), **common(), "amount": amounts,
         "currency": st.sampled_from(["USD", "EUR"])},
        optional={
            "status": st.sampled_from(["succeeded", "failed", "refunded"]),
            "kind": st.sampled_from(["subscription", "one_time"]),
            "interval": st.sampled_from(["day", "week", "month", "quarter", "year"]),
            "interval_count": st.integers(min_value=1, max_value=36),
            "plan": optional_text,
        },
    ),
    st.fixed_dictionaries(
        {"topic": st.just("cancellations"), **common()},
        optional={
            "effective_in": st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
            "reason": optional_text,
            "voluntary": st.booleans(),
            "comment": optional_text,
        },
    ),
    st.fixed_dictionaries(
        {"topic": st.just("activity"), **common(), "user_id": ids},
        optional={"action": optional_text},
    ),
    st.fixed_dictionaries(
        {"topic": st.just("surveys"), **common(), "user_id": ids,
         "score": st.integers(min_value=0, max_value=10)},
        optional={"comment": optional_text},
    ),
)  # fmt: skip


def wire(spec: dict[str, Any], amount_as_number: bool) -> tuple[str, dict[str, Any]]:
    """A generated event spec -> (topic, JSON-able value)."""
    value = dict(spec)
    topic = value.pop("topic")
    occurred: datetime = value["occurred_at"]
    value["occurred_at"] = occurred.isoformat()
    if "effective_in" in value:
        value["effective_at"] = (occurred + value.pop("effective_in")).isoformat()
    if "amount" in value:
        amount: Decimal = value["amount"]
        value["amount"] = float(amount) if amount_as_number else str(amount)
    return topic, value


# no lone surrogates here: the JSON parser rejects an unpaired surrogate escape as not JSON
clean_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
extra_fields = st.dictionaries(
    clean_text.filter(lambda k: k not in FIELDS),
    json_values(clean_text),
    max_size=5,
)


@FAST
@given(spec=events, extra=extra_fields, amount_as_number=st.booleans())
def test_valid_event_with_extra_fields_decodes_to_an_equal_model(
    spec: dict[str, Any], extra: dict[str, Any], amount_as_number: bool
) -> None:
    topic, value = wire(spec, amount_as_number)
    first = DECODER.decode(topic, orjson.dumps(value))
    assert not isinstance(first, Rejection), (value, first)
    if "amount" in spec:
        # a JSON number of up to 15 significant digits keeps its decimal value
        assert isinstance(first, Payment) and first.amount == spec["amount"]
    # extra fields, anywhere in the object
    items = list(value.items())
    mixed = dict(items[: len(items) // 2]) | extra | dict(items[len(items) // 2 :])
    second = DECODER.decode(topic, to_json(mixed, ensure_ascii=False))
    assert second == first
    # the model re-encoded (and with extra fields) is the same model
    dumped = first.model_dump(mode="json") | extra
    third = DECODER.decode(topic, to_json(dumped, ensure_ascii=True))
    assert third == first
    assert third.model_dump() == first.model_dump()


@FAST
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_amount_number_rejected_exactly_when_out_of_bounds(number: float) -> None:
    body = {"event_id": "e", "occurred_at": "2026-03-01T12:00:00Z", "account_id": "a",
            "currency": "USD", "amount": number}  # fmt: skip
    decoded = DECODER.decode("payments", json.dumps(body, allow_nan=True).encode())
    if not math.isfinite(number):
        assert isinstance(decoded, Rejection)
        assert decoded.type == Reason.INVALID_VALUE, decoded
    elif number < 0:
        assert isinstance(decoded, Rejection)
        assert decoded.type == Reason.NEGATIVE_AMOUNT, decoded
    elif Decimal(repr(number)) > MAX_AMOUNT:
        assert isinstance(decoded, Rejection)
        assert decoded.type == Reason.INVALID_VALUE, decoded
    else:
        assert isinstance(decoded, Payment), decoded
        assert decoded.amount == Decimal(repr(number))
