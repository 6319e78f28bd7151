"""The five input events of EVENTS.md, strict on the wire.

Strict mode makes `"12"` for an int, `"true"` for a bool and `1.0` for an int
wrong types; the one lax field is `amount`, which the contract lets producers
send as a JSON string or number (NaN and infinities rejected). Unknown fields
are ignored so producers can evolve first.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from models.settings import CURRENCY_PATTERN

_RFC3339_PREFIX = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}")


def _rfc3339_shape(value: Any) -> Any:
    """Only RFC 3339 text gets to the (lax) parser: it would also take unix times and dates."""
    if type(value) is not str:
        raise PydanticCustomError("datetime_type", "Input should be an RFC 3339 timestamp string")
    if not _RFC3339_PREFIX.match(value):
        raise PydanticCustomError(
            "datetime_parsing", "Input should be an RFC 3339 timestamp, e.g. 2026-03-01T12:00:00Z"
        )
    return value


def _utc_instant(value: datetime) -> datetime:
    """An instant of years 1-9999 in UTC (`9999-12-31T23:00:00-05:00` is not): the engine and
    every output work in UTC."""
    if value.year in (1, 9999):  # only an offset at either end can leave the range
        try:
            value.astimezone(UTC)
        except OverflowError:
            raise ValueError("outside the years 1-9999 in UTC") from None
    return value


Timestamp = Annotated[
    AwareDatetime,
    Field(strict=False),
    BeforeValidator(_rfc3339_shape),
    AfterValidator(_utc_instant),
]
Id = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Score = Annotated[int, Field(ge=0, le=10)]
MAX_AMOUNT = Decimal("1e12")
"""Per payment; keeps every sum of amounts exact within Decimal's 28 digits."""
Money = Annotated[Decimal, Field(strict=False, ge=0, le=MAX_AMOUNT, allow_inf_nan=False)]
Currency = Annotated[str, StringConstraints(pattern=CURRENCY_PATTERN)]

EventKind = Literal["signup", "payment", "cancellation", "activity", "survey"]


class PaymentStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"


class PaymentKind(StrEnum):
    SUBSCRIPTION = "subscription"
    ONE_TIME = "one_time"


class Interval(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class Event(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    event_id: Id
    occurred_at: Timestamp
    account_id: Id


class Signup(Event):
    user_id: str | None = None
    plan: str | None = None
    trial: bool = False
    channel: str | None = None


class Payment(Event):
    amount: Money
    currency: Currency
    status: PaymentStatus = PaymentStatus.SUCCEEDED
    kind: PaymentKind = PaymentKind.SUBSCRIPTION
    interval: Interval = Interval.MONTH
    interval_count: Annotated[int, Field(ge=1)] = 1
    plan: str | None = None


class Cancellation(Event):
    effective_at: Timestamp | None = None
    reason: str | None = None
    voluntary: bool = True
    comment: str | None = None

    @model_validator(mode="after")
    def _effective_not_before_occurred(self) -> Cancellation:
        if self.effective_at is not None and self.effective_at < self.occurred_at:
            raise ValueError("effective_at is before occurred_at")
        return self

    @property
    def effective(self) -> datetime:
        return self.occurred_at if self.effective_at is None else self.effective_at


class Activity(Event):
    user_id: Id
    action: str | None = None


class Survey(Event):
    user_id: Id
    score: Score
    comment: str | None = None


AnyEvent = Signup | Payment | Cancellation | Activity | Survey

MODELS: dict[str, type[Event]] = {
    "signup": Signup,
    "payment": Payment,
    "cancellation": Cancellation,
    "activity": Activity,
    "survey": Survey,
}
