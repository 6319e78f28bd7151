"""Reading a Stripe object strictly: each getter names the field's path when it is missing
or of the wrong type, so a rejected event says exactly what was wrong with it.

Stripe objects are plain JSON here (dicts, lists, ints, strings), as a webhook body or an
export of `/v1/events` carries them; nothing is coerced: a money amount that is not an
integer of minor units, or a timestamp that is not integer seconds, is a rejection.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

ZERO_DECIMAL: Final = frozenset(
    {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA",
     "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"}
)  # fmt: skip
"""Currencies whose Stripe amounts are whole units (Stripe's "zero-decimal currencies")."""
THREE_DECIMAL: Final = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})
"""Currencies whose Stripe amounts are thousandths. Every other currency is in hundredths,
ISK, HUF and TWD included: Stripe keeps those two-decimal in its API."""


class Unmappable(Exception):
    """A Stripe event that cannot be mapped: `reason` is a short stable code (the
    summary counts by it), the message says what and where. A getter's message starts
    with the path it read, relative to the object it was given (`relative`): `located`
    puts the path of that object in front, so the message names the field in the event."""

    def __init__(self, reason: str, message: str, *, relative: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.relative = relative


@contextmanager
def located(where: str) -> Iterator[None]:
    """Name the fields of what is read inside from `where` (`data.object`, `lines.data[2]`)."""
    try:
        yield
    except Unmappable as exc:
        if not exc.relative:
            raise
        raise Unmappable(exc.reason, f"{where}.{exc.message}", relative=True) from None


MISSING_FIELD: Final = "missing_field"
WRONG_TYPE: Final = "wrong_type"
OLD_API_VERSION: Final = "old_api_version"
UNMAPPABLE: Final = "unmappable"
INVALID_EVENT: Final = "invalid_event"


def field(obj: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted `path` (`data.object.customer`); Unmappable when absent or
    null, or when a step is not an object."""
    value: Any = obj
    walked: list[str] = []
    for name in path.split("."):
        walked.append(name)
        if not isinstance(value, Mapping):
            raise Unmappable(WRONG_TYPE, f"{'.'.join(walked[:-1])} is not an object", relative=True)
        value = value.get(name)
        if value is None:
            raise Unmappable(MISSING_FIELD, f"{'.'.join(walked)} is missing", relative=True)
    return value


def optional(obj: Mapping[str, Any], path: str) -> Any:
    """The value at `path`, or None when it (or an object on the way) is absent or null."""
    value: Any = obj
    for name in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
        if value is None:
            return None
    return value


def text(obj: Mapping[str, Any], path: str) -> str:
    value = field(obj, path)
    if not isinstance(value, str) or not value:
        raise Unmappable(WRONG_TYPE, f"{path} is not a non-empty string", relative=True)
    return value


def integer(obj: Mapping[str, Any], path: str) -> int:
    value = field(obj, path)
    if type(value) is not int:
        raise Unmappable(WRONG_TYPE, f"{path} is not an integer", relative=True)
    return value


def mapping(obj: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    value = field(obj, path)
    if not isinstance(value, Mapping):
        raise Unmappable(WRONG_TYPE, f"{path} is not an object", relative=True)
    return value


def objects(obj: Mapping[str, Any], path: str) -> list[Mapping[str, Any]]:
    """A list of objects at `path`; absent or null is an empty list (Stripe writes null
    for an empty `discount_amounts` or `taxes`)."""
    value = optional(obj, path)
    if value is None:
        return []
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise Unmappable(WRONG_TYPE, f"{path} is not a list", relative=True)
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise Unmappable(WRONG_TYPE, f"{path}[{index}] is not an object", relative=True)
    return list(value)


def object_id(obj: Mapping[str, Any], path: str) -> str:
    """An id field that Stripe may also send expanded (`customer` as the Customer object)."""
    value = field(obj, path)
    if isinstance(value, Mapping):
        return text(value, "id")
    if not isinstance(value, str) or not value:
        raise Unmappable(WRONG_TYPE, f"{path} is not an id", relative=True)
    return value


def iso(seconds: int) -> str:
    """Unix seconds (Stripe's timestamps) as RFC 3339 UTC, `2026-03-01T12:00:00Z`."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def currency_code(value: Any, path: str) -> str:
    """Stripe's lowercase ISO code as ours: uppercase, three ASCII letters."""
    if not isinstance(value, str) or len(value) != 3 or not value.isascii() or not value.isalpha():
        raise Unmappable(WRONG_TYPE, f"{path} is not a 3-letter currency code", relative=True)
    return value.upper()


def major_units(minor: int, currency: str) -> Decimal:
    """Integer minor units as an exact decimal amount: 4373 USD -> 43.73, 120000 JPY ->
    120000, 12345 KWD -> 12.345."""
    exponent = 0 if currency in ZERO_DECIMAL else 3 if currency in THREE_DECIMAL else 2
    return Decimal(minor).scaleb(-exponent)
