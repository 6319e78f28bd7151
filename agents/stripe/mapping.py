"""One Stripe event -> what it means to growthstream, as data (BILLING.md "Stripe as a
source"). Pure: no I/O and no state, so a redelivered event maps to the very same events
(same ids: the engine counts it a duplicate) and events map alike in any order of arrival;
order is the engine's (event time, the stale rule).

Reads events of API version 2025-03-31.basil or later (an event naming an older
`api_version` is rejected: its invoice lines have another shape; one naming none is
read as basil). What is read, per event type:

- every event: `id` (our `event_id`), `type`, `created`, `api_version`, `data.object`;
- `customer.created` -> signup: the customer's `id` (`account_id`), `created`;
- `invoice.paid` with `billing_reason` subscription_create, subscription_cycle or
  subscription_update -> a succeeded payment per subscription (agents/stripe/invoices.py):
  `customer`, `currency`, `parent.subscription_details.subscription`, and of each line
  `parent.subscription_item_details` (`subscription`, `proration`), `amount`,
  `discount_amounts`, `taxes`, `quantity`, `period`, `pricing.price_details`;
- `invoice.payment_failed` -> a failed payment: `customer`, `currency`, `amount_due`,
  `parent.subscription_details.subscription`, dated at the event's `created`;
- `customer.subscription.updated` whose `cancel_at_period_end` or `cancel_at` this update
  set (`data.previous_attributes` names one of them, or the event has none: an export
  that left them out) -> a cancellation of that subscription at `cancel_at`, else at its
  items' `current_period_end`, dated at the event's `created`;
- `customer.subscription.deleted` -> a cancellation of that subscription at `ended_at`;
  `cancellation_details.reason` is its `reason` (`payment_failed` there: involuntary),
  `cancellation_details.comment` its `comment`.

Ignored (counted, mapped to nothing): every other event type (`customer.subscription.
created`, `invoice.payment_succeeded`, which `invoice.paid` already covers, charges...),
paid invoices of another billing reason (manual, threshold, quote), an update that
schedules no cancellation (status changes such as `past_due` and `unpaid` included: the
lapse rule decides an unpaid subscription's churn), and invoice lines that state no
recurring price: prorations (a part of a period, credited or charged once; the new price
counts from the first invoice that bills it in full), one-off invoice items, metered
prices when the line carries its price expanded, and usage billed in arrears for an
earlier period. A new subscription invoiced at no charge (a trial) makes no payment, nor
does a no-charge trial period on an update invoice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson
from pydantic import ValidationError

from agents.stripe.fields import (
    INVALID_EVENT,
    OLD_API_VERSION,
    WRONG_TYPE,
    Unmappable,
    integer,
    iso,
    located,
    mapping,
    object_id,
    objects,
    optional,
    text,
)
from agents.stripe.invoices import BILLING_REASONS, failed_invoice_payment, paid_invoice_payments
from models.events import MODELS, EventKind

FIRST_VERSION: Final = "2025-03-31"
"""The basil release: the first API version whose shapes this mapping reads."""
INVOLUNTARY: Final = "payment_failed"


@dataclass(frozen=True, slots=True)
class Event:
    """One of our input events: its kind (`signup`, `payment`, `cancellation`) and its JSON
    value, valid for models/events.py."""

    kind: EventKind
    value: dict[str, Any]

    @property
    def account_id(self) -> str:
        account: str = self.value["account_id"]
        return account


@dataclass(frozen=True, slots=True)
class Mapped:
    stripe_type: str
    events: tuple[Event, ...]


@dataclass(frozen=True, slots=True)
class Ignored:
    stripe_type: str
    why: str


@dataclass(frozen=True, slots=True)
class Rejected:
    stripe_type: str | None
    reason: str
    """A short stable code: missing_field, wrong_type, old_api_version, unmappable,
    invalid_event, not_json, not_object."""
    message: str
    account_id: str | None = None
    """The customer, when it could be read (the key of the dead letter)."""


Result = Mapped | Ignored | Rejected


def map_event(event: Any) -> Result:
    """What one Stripe event object (a parsed webhook body or export line) maps to."""
    if not isinstance(event, Mapping):
        return Rejected(None, "not_object", "a Stripe event is a JSON object")
    kind = event.get("type")
    stripe_type = kind if isinstance(kind, str) else None
    try:
        return _map(event)
    except Unmappable as exc:
        return Rejected(stripe_type, exc.reason, exc.message, _customer(event))


def _map(event: Mapping[str, Any]) -> Result:
    if event.get("object", "event") != "event":
        raise Unmappable(WRONG_TYPE, f"object is {event.get('object')!r}, not 'event'")
    event_id, kind, created = text(event, "id"), text(event, "type"), integer(event, "created")
    _check_version(event.get("api_version"))
    handler = _HANDLERS.get(kind)
    if handler is None:
        return Ignored(kind, "an event type that changes no figure")
    obj = mapping(event, "data.object")
    with located("data.object"):
        outcome = handler(event_id, created, obj, event)
    if isinstance(outcome, str):
        return Ignored(kind, outcome)
    return Mapped(kind, tuple(_valid(kind, one) for one in outcome))


def _check_version(version: Any) -> None:
    if version is None:
        return
    if not isinstance(version, str):
        raise Unmappable(WRONG_TYPE, "api_version is not a string")
    if version[:10] < FIRST_VERSION:
        raise Unmappable(
            OLD_API_VERSION,
            f"api_version {version} is older than {FIRST_VERSION}.basil, whose shapes "
            f"this mapping reads (set the webhook endpoint's version to basil or later)",
        )


def _valid(stripe_type: str, event: Event) -> Event:
    """The value as the engine will decode it: a mapping that produced a value the event
    models refuse is a rejection here, with the model's words, not a dead letter later."""
    try:
        MODELS[event.kind].model_validate_json(orjson.dumps(event.value))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or event.kind
        raise Unmappable(
            INVALID_EVENT, f"the {event.kind} it maps to is invalid: {where}: {first['msg']}"
        ) from None
    return event


def _customer(event: Mapping[str, Any]) -> str | None:
    obj = optional(event, "data.object")
    if not isinstance(obj, Mapping):
        return None
    value = obj.get("id") if event.get("type") == "customer.created" else obj.get("customer")
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


Outcome = list[Event] | str
"""The events an event maps to, or why it maps to none (ignored)."""


def _signup(
    event_id: str, created: int, customer: Mapping[str, Any], event: Mapping[str, Any]
) -> Outcome:
    value = {
        "event_id": event_id,
        "occurred_at": iso(integer(customer, "created")),
        "account_id": text(customer, "id"),
    }
    return [Event("signup", value)]


def _invoice_paid(
    event_id: str, created: int, invoice: Mapping[str, Any], event: Mapping[str, Any]
) -> Outcome:
    reason = optional(invoice, "billing_reason")
    if reason not in BILLING_REASONS:
        return f"a paid invoice of billing_reason {reason}, not of a subscription's period"
    payments, why = paid_invoice_payments(event_id, invoice)
    return [Event("payment", value) for value in payments] if payments else why


def _invoice_failed(
    event_id: str, created: int, invoice: Mapping[str, Any], event: Mapping[str, Any]
) -> Outcome:
    return [Event("payment", failed_invoice_payment(event_id, created, invoice))]


def _subscription_updated(
    event_id: str, created: int, sub: Mapping[str, Any], event: Mapping[str, Any]
) -> Outcome:
    at_period_end = sub.get("cancel_at_period_end") is True
    cancel_at = optional(sub, "cancel_at")
    if not at_period_end and cancel_at is None:
        return "an update that schedules no cancellation"
    previous = optional(event, "data.previous_attributes")
    if isinstance(previous, Mapping) and not (
        "cancel_at_period_end" in previous or "cancel_at" in previous
    ):
        return "an update of a subscription whose cancellation was already scheduled"
    effective = integer(sub, "cancel_at") if cancel_at is not None else _period_end(sub)
    value = _cancellation(event_id, created, sub) | {"effective_at": iso(effective)}
    return [Event("cancellation", value)]


def _period_end(sub: Mapping[str, Any]) -> int:
    """The current period's end: on the items in basil (the latest of them), on the
    subscription itself before."""
    ends = []
    for index, item in enumerate(objects(sub, "items.data")):
        if item.get("current_period_end") is not None:
            with located(f"items.data[{index}]"):
                ends.append(integer(item, "current_period_end"))
    if ends:
        return max(ends)
    return integer(sub, "current_period_end")


def _subscription_deleted(
    event_id: str, created: int, sub: Mapping[str, Any], event: Mapping[str, Any]
) -> Outcome:
    ended = integer(sub, "ended_at")
    value = _cancellation(event_id, ended, sub) | {"effective_at": iso(ended)}
    return [Event("cancellation", value)]


def _cancellation(event_id: str, occurred: int, sub: Mapping[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = {
        "event_id": event_id,
        "occurred_at": iso(occurred),
        "account_id": object_id(sub, "customer"),
        "subscription_id": text(sub, "id"),
    }
    details = optional(sub, "cancellation_details")
    if isinstance(details, Mapping):
        reason, comment = details.get("reason"), details.get("comment")
        if isinstance(reason, str):
            value["reason"] = reason
            value["voluntary"] = reason != INVOLUNTARY
        if isinstance(comment, str):
            value["comment"] = comment
    return value


_HANDLERS: Final = {
    "customer.created": _signup,
    "invoice.paid": _invoice_paid,
    "invoice.payment_failed": _invoice_failed,
    "customer.subscription.updated": _subscription_updated,
    "customer.subscription.deleted": _subscription_deleted,
}
MAPPED_TYPES: Final = frozenset(_HANDLERS)
"""The Stripe event types that can map to events (any other is ignored)."""
