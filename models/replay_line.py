"""Replay-file lines (EVENTS.md "Replay file"): the one place a line is taken apart.

`growthstream replay` reads lines into the engine, `growthstream produce` sends
them to Kafka; both parse them here, so a line means the same in both. A good
line (`value` an object, topic an input topic) can also be validated as a whole
in one pydantic pass (`good_line_validator`): envelope and event together instead
of parse, re-serialise and validate. Any other line takes the general path
(`parse_line`, then `models.decode`), which says precisely why it is bad; both
apply the same event models, so they agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal, NotRequired, Union

import orjson
from pydantic import ConfigDict, Field, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from models.decode import Reason, Rejection
from models.events import MODELS, AnyEvent
from models.settings import Settings

_MISSING: Final = object()
NEEDS_TOPIC_AND_VALUE: Final = 'replay line needs a string "topic" and a "value"'
TIMESTAMP_NOT_AN_INT: Final = 'a replay line\'s "timestamp" is an integer (ms since the epoch)'


@dataclass(frozen=True, slots=True)
class ReplayLine:
    topic: str
    raw: bytes
    """The message value: a string value byte for byte (UTF-8), anything else as compact JSON."""
    key: str | None
    """The line's own `key`, when it is a string."""
    account_id: str | None
    """The value's `account_id`, when it is a string (a value given as a string is looked
    into too, as a real producer keyed it that way)."""
    timestamp: int | None = None
    """The record time (ms since the epoch), when the line gives one."""

    @property
    def message_key(self) -> str | None:
        """The Kafka key this line is sent with: its `key`, else the value's `account_id`."""
        return self.key if self.key is not None else self.account_id


def parse_line(line: bytes) -> ReplayLine | Rejection:
    """A line's parts, or why it is not a replay line (reason `bad_replay_line`)."""
    try:
        envelope = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        return Rejection(Reason.BAD_REPLAY_LINE, f"replay line is not JSON: {exc}")
    if not isinstance(envelope, dict):
        return Rejection(Reason.BAD_REPLAY_LINE, "replay line is not a JSON object")
    topic = envelope.get("topic")
    value = envelope.get("value", _MISSING)
    if not isinstance(topic, str) or value is _MISSING:
        return Rejection(Reason.BAD_REPLAY_LINE, NEEDS_TOPIC_AND_VALUE)
    timestamp = envelope.get("timestamp", _MISSING)
    if timestamp is _MISSING:
        timestamp = None
    elif type(timestamp) is not int:
        return Rejection(Reason.BAD_REPLAY_LINE, TIMESTAMP_NOT_AN_INT)
    raw = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else orjson.dumps(value)
    key = envelope.get("key")
    return ReplayLine(
        topic, raw, key if isinstance(key, str) else None, _account_id(value), timestamp
    )


def _account_id(value: object) -> str | None:
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
    account = value.get("account_id") if isinstance(value, dict) else None
    return account if isinstance(account, str) else None


LINE_CONFIG: Final = ConfigDict(strict=True, cache_strings="keys")
"""A good line is validated as a typed dict around the event models (no model instance for
the envelope), with their strictness and string caching rule (`models.events.Event`)."""

GoodLine = tuple[AnyEvent, str | None, int | None]
"""(event, key, timestamp) of a line validated in one pass."""


def good_line_validator(settings: Settings) -> Callable[[bytes], GoodLine | None]:
    """A function: line bytes -> (event, key, timestamp), or None when the line needs the
    general path."""
    members: list[Any] = [
        TypedDict(  # type: ignore[operator]
            f"{kind.title()}Line",
            {
                "topic": Literal[topic],
                "key": NotRequired[str | None],
                "timestamp": NotRequired[int],  # a null or any non-int: the general path
                "value": MODELS[kind],
            },
        )
        for topic, kind in settings.input_topics().items()
    ]
    line_type: Any = Annotated[Union[tuple(members)], Field(discriminator="topic")]  # noqa: UP007
    adapter: TypeAdapter[Any] = TypeAdapter(line_type, config=LINE_CONFIG)
    validate = adapter.validator.validate_json
    limit = settings.max_message_bytes

    def good_line(line: bytes) -> GoodLine | None:
        if len(line) > limit:
            return None
        try:
            envelope = validate(line)
        except ValidationError:
            return None
        return envelope["value"], envelope.get("key"), envelope.get("timestamp")

    return good_line
