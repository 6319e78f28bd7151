"""Bad messages: each one is rejected by the decoder for exactly the reason it is labelled with."""

from __future__ import annotations

from collections.abc import Callable

from agents.demo import BAD_KINDS, Line
from models.decode import Decoder, Rejection


def test_each_bad_message_is_rejected_for_its_reason(
    world: list[tuple[str | None, Line]], decoder: Decoder, raw_of: Callable[[Line], bytes]
) -> None:
    for label, line in world:
        if label in BAD_KINDS:
            assert isinstance(line["value"], str), "bad messages travel as raw text"
            rejection = decoder.decode(str(line["topic"]), raw_of(line))
            assert isinstance(rejection, Rejection), line
            assert rejection.type == label, (line, rejection)
