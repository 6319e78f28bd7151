"""The five input events of EVENTS.md, strict on the wire.

Strict mode makes `"12"` for an int, `"true"` for a bool and `1.0` for an int
wrong types; the one lax field is `amount`, which the contract lets producers
send as a JSON string or number (NaN and infinities rejected). Unknown fields
are ignored so producers can evolve first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    TypeAdapter,
    model_validator,
)
from pydantic_core import core_schema

from models.settings import CURRENCY_PATTERN

_RFC3339_PREFIX: Final = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}"
_FIRST_INSTANT: Final = datetime(1, 1, 1, tzinfo=UTC)
_LAST_INSTANT: Final = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


class _Rfc3339:
    """An aware RFC 3339 timestamp of years 1-9999 in UTC, validated without Python code.

    Three native steps, so a message pays no Python call for its timestamps:
    1. a string (a number is no timestamp);
    2. RFC 3339's `date-time` prefix: the lax parser of step 3 would also take unix
       times (`"1700000000"`) and dates;
    3. the (lax) parser, with an offset required and the instant within years 1-9999
       in UTC (`9999-12-31T23:00:00-05:00` is not): the engine and every output work
       in UTC.
    """

    @classmethod
    def __get_pydantic_core_schema__(cls, _source: Any, _handler: GetCoreSchemaHandler) -> Any:
        return core_schema.chain_schema(
            [
                core_schema.custom_error_schema(
                    core_schema.str_schema(strict=True),
                    "timestamp_type",
                    custom_error_message="Input should be an RFC 3339 timestamp string",
                ),
                core_schema.custom_error_schema(
                    core_schema.str_schema(pattern=_RFC3339_PREFIX),
                    "timestamp_parsing",
                    custom_error_message=(
                        "Input should be an RFC 3339 timestamp, e.g. 2026-03-01T12:00:00Z"
                    ),
                ),
                core_schema.datetime_schema(
                    strict=False, tz_constraint="aware", ge=_FIRST_INSTANT, le=_LAST_INSTANT
                ),
            ]
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, _schema: Any, _handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {"type": "string", "format": "date-time"}


Timestamp = Annotated[datetime, _Rfc3339]
EPOCH_AS_PARSED: Final[datetime] = TypeAdapter(Timestamp).validate_json(b'"1970-01-01T00:00:00Z"')
"""The Unix epoch with the very tzinfo object pydantic gives every UTC timestamp it parses.

Subtracting it from an event time is exact whatever the event's offset, and for the
usual UTC event it is plain arithmetic: CPython skips both `utcoffset` calls when the
two tzinfo objects are one. Should pydantic stop sharing that object, the subtraction
is as exact, only slower (tests/models/test_events.py watches both)."""
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
    """What every event has (EVENTS.md "Fields every event has"). Field docstrings are the
    JSON Schema's descriptions (`growthstream schema`), so the schema documents itself."""

    model_config = ConfigDict(
        strict=True,
        extra="ignore",
        frozen=True,
        use_attribute_docstrings=True,
        cache_strings="keys",
    )
    """`cache_strings="keys"`: the JSON parser reuses the field names' strings, which
    repeat in every message, and does not look up the values, mostly ids that never
    repeat, in its cache."""

    event_id: Id
    """Unique per event: a redelivered or duplicated event carries the same id and changes
    no metric (with the same `account_id`)."""
    occurred_at: Timestamp
    """Event time, RFC 3339 with an offset (a naive time is rejected); every window and the
    stream time are computed on it."""
    account_id: Id
    """The paying customer: the unit of MRR and of customer churn; also the message key."""


class Signup(Event):
    """An account signed up, trial or not; its first signup counts in `signups`."""

    user_id: str | None = None
    """The user who signed up, when known (not needed by any figure)."""
    plan: str | None = None
    """The plan signed up for; the account's plan until a payment names one."""
    trial: bool = False
    """Whether the account starts on a trial."""
    channel: str | None = None
    """Acquisition source (e.g. `ads`, `referral`)."""


class Payment(Event):
    """A charge on an account; a succeeded subscription payment states the recurring price
    for `interval_count` x `interval` from `occurred_at`."""

    amount: Money
    """The price in `currency`, >= 0 and at most 10^12, as a JSON string or number; kept as
    a Decimal, never a float."""
    currency: Currency
    """ISO 4217 code; it needs a rate in GROWTH_FX_RATES, else the payment is a dead letter
    (`unknown_currency`)."""
    status: PaymentStatus = PaymentStatus.SUCCEEDED
    """Only a succeeded payment changes the subscription."""
    kind: PaymentKind = PaymentKind.SUBSCRIPTION
    """A one-time payment is never recurring revenue."""
    interval: Interval = Interval.MONTH
    """The billing period's unit; the amount is normalised to a month."""
    interval_count: Annotated[int, Field(ge=1)] = 1
    """How many `interval`s one payment covers."""
    plan: str | None = None
    """The plan paid for; becomes the account's plan (and the subscription's)."""
    subscription_id: Id | None = None
    """The subscription paid for (BILLING.md); null: the account's one subscription, whose
    id is the `account_id`. An account's MRR is the sum of its subscriptions'."""
    quantity: Annotated[int, Field(ge=1)] = 1
    """Seats or units billed for the period (the `seats` figure); `amount` is already the
    total for them."""
    tax_amount: Money = Decimal(0)
    """The tax inside `amount` (<= `amount`), never revenue: the monthly amount is
    `amount - tax_amount`."""

    @model_validator(mode="after")
    def _tax_within_amount(self) -> Payment:
        if self.tax_amount > self.amount:
            raise ValueError("tax_amount is more than amount")
        return self


class Cancellation(Event):
    """An account cancelled its subscription, now or at a future date (period end)."""

    effective_at: Timestamp | None = None
    """When the cancellation takes effect, >= `occurred_at`; null means at `occurred_at`.
    Until then the account keeps paying MRR."""
    reason: str | None = None
    """Why (e.g. `price`, `competitor`, `not_using`)."""
    voluntary: bool = True
    """False for an involuntary churn (e.g. a failed card)."""
    comment: str | None = None
    """Free text from the customer."""
    subscription_id: Id | None = None
    """The subscription that ends (BILLING.md); null: every subscription of the account."""

    @model_validator(mode="after")
    def _effective_not_before_occurred(self) -> Cancellation:
        if self.effective_at is not None and self.effective_at < self.occurred_at:
            raise ValueError("effective_at is before occurred_at")
        return self

    @property
    def effective(self) -> datetime:
        return self.occurred_at if self.effective_at is None else self.effective_at


class Activity(Event):
    """A user of an account did something in the product (DAU/WAU/MAU)."""

    user_id: Id
    """The user; a user is `(account_id, user_id)`."""
    action: str | None = None
    """Feature or event name (e.g. `login`, `report.export`)."""


class Survey(Event):
    """A user answered "how likely are you to recommend us?" (NPS)."""

    user_id: Id
    """The respondent; a respondent is `(account_id, user_id)`, counted by its latest answer."""
    score: Score
    """0-10: 9-10 promoter, 7-8 passive, 0-6 detractor."""
    comment: str | None = None
    """Free text from the respondent."""


AnyEvent = Signup | Payment | Cancellation | Activity | Survey

MODELS: dict[str, type[Event]] = {
    "signup": Signup,
    "payment": Payment,
    "cancellation": Cancellation,
    "activity": Activity,
    "survey": Survey,
}
