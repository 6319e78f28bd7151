"""The replay's dead letters keep the raw bytes of the message, and say why it was rejected."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from agents.embedded.replay import ReplayOutputs, replay_lines
from models.decode import Decoder, Reason, Rejection
from models.settings import Settings

SETTINGS = Settings(fx_rates={"USD": 1, "EUR": "1.1"})


RAW_VALUES = [
    '{"event_id": "e1", "occurred_at": "2026-03-01T12:00:00", "account_id": "a"}',
    '{ "event_id" : 1 ,\n "occurred_at":"2026-03-01T12:00:00Z",\t"account_id":"a"}  ',
    '{"event_id":"é€😀","occurred_at":"2026-03-01T12:00:00Z","account_id":"a","amount":"-1",'
    '"currency":"USD"}',
    "not json at all \u2028 \x00",
    "[1, 2, 3]",
    "",
    '{"amount": NaN}',
]


@pytest.mark.parametrize("raw", RAW_VALUES, ids=[f"raw{i}" for i in range(len(RAW_VALUES))])
def test_replay_dead_letter_keeps_the_raw_value(raw: str) -> None:
    line = orjson.dumps({"topic": "payments", "key": "acct-é", "value": raw})
    letters: list[dict[str, Any]] = []
    engine = replay_lines(
        [line], SETTINGS, ReplayOutputs(dead_letter=lambda d: letters.append(d.model_dump()))
    )
    assert len(letters) == 1
    letter = letters[0]
    assert letter["raw"] == raw
    assert letter["raw_encoding"] == "utf-8"
    assert letter["raw"].encode("utf-8") == raw.encode("utf-8")
    assert letter["key"] == "acct-é"
    assert letter["topic"] == "payments"
    assert letter["offset"] == 0
    expected = Decoder(SETTINGS).decode("payments", raw.encode("utf-8"))
    assert isinstance(expected, Rejection)
    assert letter["error"]["type"] == expected.type
    assert engine.dead_letters == 1
    assert engine.events == 0


def test_replay_dead_letter_of_a_bad_line_keeps_the_line() -> None:
    line = b'{"topic": "payments", "value": '
    letters: list[dict[str, Any]] = []
    replay_lines(
        [line], SETTINGS, ReplayOutputs(dead_letter=lambda d: letters.append(d.model_dump()))
    )
    assert len(letters) == 1
    assert letters[0]["raw"] == line.decode()
    assert letters[0]["error"]["type"] == Reason.BAD_REPLAY_LINE
