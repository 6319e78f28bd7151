"""Malformed messages, one way per dead-letter reason, as producers really send them.

Why it exists: each `BAD_KINDS` trap must be rejected by the decoder for
exactly the reason it is labelled with; this module knows how to spoil a
well-formed message in each of those ways (and nothing else does).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from random import Random
from typing import Final, cast

import orjson

from agents.demo.frame import Frame
from agents.demo.instants import DAY, HOUR
from agents.demo.spec import Value
from models.decode import Reason

_VALID_FIELDS: Final[dict[str, Value]] = {
    "signups": {"user_id": "u1", "plan": "team-monthly", "trial": False, "channel": "organic"},
    "payments": {"amount": "79.00", "currency": "USD", "status": "succeeded", "interval": "month"},
    "cancellations": {"reason": "price", "voluntary": True},
    "activity": {"user_id": "u2", "action": "login"},
    "surveys": {"user_id": "u1", "score": 8},
}


class BadMessages:
    """Malformed messages as producers really send them, one way per dead-letter reason."""

    __slots__ = ("_ids", "_makers", "frame", "rng")

    def __init__(self, frame: Frame, rng: Random) -> None:
        self.frame = frame
        self.rng = rng
        self._ids = itertools.count(1)  # their own ids: the world's are the same without traps
        self._makers: dict[str, Callable[[int, str], tuple[str, str]]] = {
            Reason.NOT_JSON: self._not_json,
            Reason.NOT_OBJECT: self._not_object,
            Reason.MISSING_FIELD: self._missing_field,
            Reason.WRONG_TYPE: self._wrong_type,
            Reason.NAIVE_TIMESTAMP: self._naive_timestamp,
            Reason.NEGATIVE_AMOUNT: self._negative_amount,
            Reason.SCORE_OUT_OF_RANGE: self._score_out_of_range,
            Reason.UNKNOWN_CURRENCY: self._unknown_currency,
            Reason.EFFECTIVE_BEFORE_OCCURRED: self._effective_before_occurred,
        }

    def make(self, kind: str, t: int, account_id: str) -> tuple[str, str]:
        """(topic, raw message text) of a message that the decoder rejects as `kind`."""
        return self._makers[kind](t, account_id)

    def _valid(self, topic: str, t: int, account_id: str) -> Value:
        """A well-formed message of `topic`, for the bad ones to spoil."""
        value: Value = {
            "event_id": f"bad-{next(self._ids)}",
            "occurred_at": self.frame.stamps.format(t, 0, "Z"),
            "account_id": account_id,
        }
        value.update(_VALID_FIELDS[topic])
        return value

    def _topic(self) -> str:
        return self.rng.choice(("signups", "payments", "cancellations", "activity", "surveys"))

    def _not_json(self, t: int, account_id: str) -> tuple[str, str]:
        topic = self._topic()
        text = orjson.dumps(self._valid(topic, t, account_id)).decode()
        choice = self.rng.randrange(3)
        if choice == 0:
            return topic, text[: 1 + self.rng.randrange(len(text) - 1)]  # truncated
        if choice == 1:
            return topic, f"event_id=bad; account_id={account_id}; at={t}"
        return topic, "<html><body><h1>502 Bad Gateway</h1></body></html>"

    def _not_object(self, t: int, account_id: str) -> tuple[str, str]:
        topic = self._topic()
        return topic, orjson.dumps([self._valid(topic, t, account_id)]).decode()

    def _missing_field(self, t: int, account_id: str) -> tuple[str, str]:
        topic = self._topic()
        value = self._valid(topic, t, account_id)
        required = {
            "payments": ["amount", "currency"],
            "activity": ["user_id"],
            "surveys": ["score", "user_id"],
        }
        del value[
            self.rng.choice(["event_id", "occurred_at", "account_id", *required.get(topic, [])])
        ]
        return topic, orjson.dumps(value).decode()

    def _wrong_type(self, t: int, account_id: str) -> tuple[str, str]:
        topic, field, wrong = self.rng.choice(
            (
                ("surveys", "score", "9"),
                ("payments", "interval_count", 1.0),
                ("signups", "trial", "true"),
                ("activity", "user_id", 42),
                ("cancellations", "voluntary", "no"),
            )
        )
        value = self._valid(topic, t, account_id)
        value[field] = wrong
        return topic, orjson.dumps(value).decode()

    def _naive_timestamp(self, t: int, account_id: str) -> tuple[str, str]:
        topic = self._topic()
        value = self._valid(topic, t, account_id)
        value["occurred_at"] = cast(str, value["occurred_at"]).removesuffix("Z")
        return topic, orjson.dumps(value).decode()

    def _negative_amount(self, t: int, account_id: str) -> tuple[str, str]:
        value = self._valid("payments", t, account_id)
        value["amount"] = self.rng.choice(("-79.00", -29, "-0.01"))
        value["status"] = "refunded"
        return "payments", orjson.dumps(value).decode()

    def _score_out_of_range(self, t: int, account_id: str) -> tuple[str, str]:
        value = self._valid("surveys", t, account_id)
        value["score"] = self.rng.choice((11, 11, 10_000, -1))
        return "surveys", orjson.dumps(value).decode()

    def _unknown_currency(self, t: int, account_id: str) -> tuple[str, str]:
        value = self._valid("payments", t, account_id)
        value["amount"] = "8900"
        value["currency"] = "JPY"
        return "payments", orjson.dumps(value).decode()

    def _effective_before_occurred(self, t: int, account_id: str) -> tuple[str, str]:
        value = self._valid("cancellations", t, account_id)
        earlier = t - HOUR - int(self.rng.random() * 5 * DAY)
        value["effective_at"] = self.frame.stamps.format(earlier, 120, "+02:00")
        return "cancellations", orjson.dumps(value).decode()
