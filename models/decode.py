"""Raw bytes -> a validated event, or the reason it is a dead letter.

`Decoder.decode` never raises, whatever the bytes: every way a message can be
bad (EVENTS.md, "Bad input") becomes a `Rejection` with a stable `type` that
dead letters and counters are keyed by.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from models.events import MODELS, AnyEvent, Payment
from models.settings import Settings


class Reason:
    """The `error.type` values of a dead letter."""

    TOO_LARGE = "too_large"
    NOT_JSON = "not_json"
    NOT_OBJECT = "not_object"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    NAIVE_TIMESTAMP = "naive_timestamp"
    INVALID_VALUE = "invalid_value"
    NEGATIVE_AMOUNT = "negative_amount"
    SCORE_OUT_OF_RANGE = "score_out_of_range"
    UNKNOWN_CURRENCY = "unknown_currency"
    EFFECTIVE_BEFORE_OCCURRED = "effective_before_occurred"
    BAD_REPLAY_LINE = "bad_replay_line"
    LATE = "late"
    FUTURE = "future"


@dataclass(frozen=True, slots=True)
class Rejection:
    type: str
    message: str
    details: list[dict[str, Any]] = field(default_factory=list)


_TYPE_ERRORS = frozenset(
    {
        "string_type",
        "int_type",
        "bool_type",
        "decimal_type",
        "datetime_type",
        "model_type",
        "dict_type",
        "datetime_parsing",
        "timestamp_type",
        "timestamp_parsing",
        "datetime_from_date_parsing",
        "decimal_parsing",
        "int_from_float",
        "int_parsing",
        "string_unicode",
        "bool_parsing",
        "enum",
        "literal_error",
    }
)


def _reason_of(error: ErrorDetails) -> str:
    kind = error["type"]
    loc = error["loc"]
    name = loc[0] if loc else None
    if kind == "missing":
        return Reason.MISSING_FIELD
    if kind == "json_invalid":
        return Reason.NOT_JSON
    if kind == "model_type":
        return Reason.NOT_OBJECT
    if kind == "timezone_aware":
        return Reason.NAIVE_TIMESTAMP
    if name == "amount" and kind == "greater_than_equal":
        return Reason.NEGATIVE_AMOUNT
    if name == "currency" and kind == "string_pattern_mismatch":
        return Reason.UNKNOWN_CURRENCY
    if name == "score" and kind in ("greater_than_equal", "less_than_equal"):
        return Reason.SCORE_OUT_OF_RANGE
    if kind == "value_error" and "is before occurred_at" in str(error.get("msg", "")):
        return Reason.EFFECTIVE_BEFORE_OCCURRED
    if kind in ("enum", "literal_error") or kind.endswith("_type") or kind.endswith("_parsing"):
        return Reason.WRONG_TYPE
    if kind in _TYPE_ERRORS:
        return Reason.WRONG_TYPE
    return Reason.INVALID_VALUE


def _detail(error: ErrorDetails) -> dict[str, Any]:
    return {
        "loc": [str(part) for part in error["loc"]],
        "type": error["type"],
        "msg": error["msg"],
    }


class Decoder:
    """Validates messages of the configured input topics."""

    __slots__ = ("_by_topic", "_currencies", "_max_bytes")

    def __init__(self, settings: Settings) -> None:
        self._by_topic = {
            topic: MODELS[kind].model_validate_json
            for topic, kind in settings.input_topics().items()
        }
        self._currencies = frozenset(settings.fx_rates)
        self._max_bytes = settings.max_message_bytes

    def decode(self, topic: str, raw: bytes) -> AnyEvent | Rejection:
        try:
            return self._decode(topic, raw)
        except Exception as exc:
            return Rejection(Reason.INVALID_VALUE, f"undecodable message: {type(exc).__name__}")

    def _decode(self, topic: str, raw: bytes) -> AnyEvent | Rejection:
        validate = self._by_topic.get(topic)
        if validate is None:  # only a replay line can name one (DECISIONS 23, 51)
            return Rejection(Reason.BAD_REPLAY_LINE, f"topic {topic!r} is not an input topic")
        if len(raw) > self._max_bytes:
            return Rejection(
                Reason.TOO_LARGE,
                f"message of {len(raw)} bytes is larger than the maximum of {self._max_bytes}",
            )
        try:
            event: AnyEvent = validate(raw)  # type: ignore[assignment]
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False)
            first = errors[0]
            reason = _reason_of(first)
            where = ".".join(str(p) for p in first["loc"])
            message = f"{where}: {first['msg']}" if where else str(first["msg"])
            return Rejection(reason, message, [_detail(e) for e in errors])
        return self.check(event) or event

    def check(self, event: AnyEvent) -> Rejection | None:
        """The rules that need settings beyond the models (configured currencies)."""
        if isinstance(event, Payment) and event.currency not in self._currencies:
            return Rejection(
                Reason.UNKNOWN_CURRENCY,
                f"currency {event.currency} has no configured exchange rate",
                [{"loc": ["currency"], "type": "unknown_currency", "msg": event.currency}],
            )
        return None
