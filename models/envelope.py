"""Replay-file lines (EVENTS.md "Replay file"), validated in one pass when they are good.

A good line (`value` an object, topic an input topic) is validated as a whole by a
discriminated union on `topic`: one Rust-side pass instead of parse, re-serialise
and validate. Any other line takes the general path of `models.decode`, which says
precisely why it is bad; both apply the same event models, so they agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, create_model

from models.events import MODELS, AnyEvent
from models.settings import Settings


class _Envelope(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


def good_line_validator(
    settings: Settings,
) -> Callable[[bytes], tuple[AnyEvent, str | None] | None]:
    """A function: line bytes -> (event, key), or None when the line needs the general path."""
    members: list[Any] = [
        create_model(
            f"{kind.title()}Line",
            __base__=_Envelope,
            topic=(Literal[topic], ...),  # type: ignore[arg-type]
            key=(str | None, None),
            value=(MODELS[kind], ...),
        )
        for topic, kind in settings.input_topics().items()
    ]
    line_type: Any = Annotated[Union[tuple(members)], Field(discriminator="topic")]  # noqa: UP007
    adapter: TypeAdapter[Any] = TypeAdapter(line_type)
    validate = adapter.validator.validate_json
    limit = settings.max_message_bytes

    def good_line(line: bytes) -> tuple[AnyEvent, str | None] | None:
        if len(line) > limit:
            return None
        try:
            envelope = validate(line)
        except ValidationError:
            return None
        return envelope.value, envelope.key

    return good_line
