"""Invoices -> payments: `invoice.paid` states each subscription's recurring price for its
new period; `invoice.payment_failed` is a failed payment (no MRR change; the engine's lapse
rule with grace churns a subscription that stays unpaid).

What a basil invoice line is (stripe/_invoice_line_item.py): `amount` in minor units
before discounts (an inclusive tax is inside it, an exclusive one is not), its discounts
in `discount_amounts`, its taxes in `taxes` (each `amount` and `tax_behavior`), its
subscription and whether it is a proration in `parent.subscription_item_details`, and
`period` (`start`, `end`, unix seconds). A webhook's line names its price only by id
(`pricing.price_details.price`), so the billing interval is read from the line's period
(a calendar month, a year, whole weeks or days) unless the price is there expanded.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from agents.stripe.fields import (
    MISSING_FIELD,
    UNMAPPABLE,
    WRONG_TYPE,
    Unmappable,
    currency_code,
    field,
    integer,
    iso,
    located,
    major_units,
    mapping,
    object_id,
    objects,
    optional,
    text,
)

BILLING_REASONS: Final = frozenset(
    {"subscription_create", "subscription_cycle", "subscription_update"}
)
"""The paid invoices that state a recurring price (BILLING.md)."""
DAY: Final = 86_400


@dataclass(frozen=True, slots=True)
class _Line:
    """A line that bills a subscription item's recurring price for one full period."""

    subscription: str
    start: int
    end: int
    net: int
    """Minor units of revenue: amount - discounts - inclusive tax."""
    charged: int
    """Minor units charged: amount - discounts + exclusive tax."""
    tax: int
    quantity: int
    product: str | None
    interval: tuple[str, int] | None
    """From the expanded price (`recurring`), when the line carries it."""


def paid_invoice_payments(
    event_id: str, invoice: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], str]:
    """One succeeded payment per subscription that the invoice bills a full period of; the
    ids are `event_id`, or `{event_id}:{subscription_id}` when there are several. With no
    payment, also why there is none."""
    account = object_id(invoice, "customer")
    currency = currency_code(field(invoice, "currency"), "currency")
    create = field(invoice, "billing_reason") == "subscription_create"
    default = _invoice_subscription(invoice)
    by_subscription: dict[str, list[_Line]] = {}
    for index, raw in enumerate(objects(invoice, "lines.data")):
        with located(f"lines.data[{index}]"):
            line = _service_line(raw, default)
        if line is not None:
            by_subscription.setdefault(line.subscription, []).append(line)
    payments = []
    for subscription, lines in by_subscription.items():
        payment = _payment(account, currency, subscription, lines, create=create)
        if payment is not None:
            payments.append(payment)
    for payment in payments:
        sid = payment["subscription_id"]
        payment["event_id"] = event_id if len(payments) == 1 else f"{event_id}:{sid}"
    if by_subscription:
        why = "a subscription invoiced at no charge (a trial, or a free first period): no MRR"
    else:
        why = "no line bills a full period of a subscription (prorations or one-off items only)"
    return payments, why


def failed_invoice_payment(
    event_id: str, created: int, invoice: Mapping[str, Any]
) -> dict[str, Any]:
    """The failed attempt to collect the invoice, dated when it failed (the event)."""
    currency = currency_code(field(invoice, "currency"), "currency")
    subscription = _invoice_subscription(invoice)
    value: dict[str, Any] = {
        "event_id": event_id,
        "occurred_at": iso(created),
        "account_id": object_id(invoice, "customer"),
        "amount": str(major_units(integer(invoice, "amount_due"), currency)),
        "currency": currency,
        "status": "failed",
        "kind": "subscription" if subscription is not None else "one_time",
    }
    if subscription is not None:
        value["subscription_id"] = subscription
    return value


def _invoice_subscription(invoice: Mapping[str, Any]) -> str | None:
    value = optional(invoice, "parent.subscription_details.subscription")
    if isinstance(value, Mapping):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _service_line(raw: Mapping[str, Any], default: str | None) -> _Line | None:
    """The line, when it bills a recurring licensed price for a full period; None for a
    one-off invoice item, a proration (a part of a period: it states no recurring price)
    or a metered price (usage, billed in arrears)."""
    if optional(raw, "parent.type") != "subscription_item_details":
        return None
    details = mapping(raw, "parent.subscription_item_details")
    if details.get("proration") is True:
        return None
    price = optional(raw, "pricing.price_details.price")
    interval = None
    if isinstance(price, Mapping):
        recurring = price.get("recurring")
        if not isinstance(recurring, Mapping) or recurring.get("usage_type") == "metered":
            return None
        interval = (text(recurring, "interval"), integer(recurring, "interval_count"))
    subscription = optional(details, "subscription") or optional(raw, "subscription") or default
    if isinstance(subscription, Mapping):
        subscription = subscription.get("id")
    if not isinstance(subscription, str) or not subscription:
        raise Unmappable(MISSING_FIELD, "parent.subscription_item_details.subscription is missing",
                         relative=True)  # fmt: skip
    amount = integer(raw, "amount")
    discounts, listed = _discounts(raw)
    discount = 0
    for index, one in enumerate(discounts):
        with located(f"{listed}[{index}]"):
            discount += integer(one, "amount")
    inclusive = exclusive = 0
    for index, tax in enumerate(objects(raw, "taxes")):
        with located(f"taxes[{index}]"):
            if tax.get("tax_behavior") == "inclusive":
                inclusive += integer(tax, "amount")
            else:
                exclusive += integer(tax, "amount")
    quantity = raw.get("quantity")
    product = optional(raw, "pricing.price_details.product")
    return _Line(
        subscription=subscription,
        start=integer(raw, "period.start"),
        end=integer(raw, "period.end"),
        net=amount - discount - inclusive,
        charged=amount - discount + exclusive,
        tax=inclusive + exclusive,
        quantity=quantity if type(quantity) is int and quantity > 0 else 1,
        product=product if isinstance(product, str) else None,
        interval=interval,
    )


def _discounts(raw: Mapping[str, Any]) -> tuple[list[Mapping[str, Any]], str]:
    """`discount_amounts`; where a later version leaves it out, the discount entries of
    `pretax_credit_amounts` (credit grants there are prepaid money, not a discount). With
    the name of the list they come from."""
    if raw.get("discount_amounts") is not None:
        return objects(raw, "discount_amounts"), "discount_amounts"
    credits = objects(raw, "pretax_credit_amounts")
    return [c for c in credits if c.get("type") == "discount"], "pretax_credit_amounts"


def _payment(
    account: str, currency: str, subscription: str, lines: list[_Line], *, create: bool
) -> dict[str, Any] | None:
    """The subscription's payment for the newest period its lines bill (lines of an earlier
    period, such as usage in arrears, are not its price); None for a subscription that
    starts at no charge (a trial, or a free first period: it has no MRR yet), and for a
    period at no charge that is no billing period (a trial's, on an update invoice). A
    period at no charge of a running subscription is a payment of 0 (a 100 % coupon)."""
    start = max(line.start for line in lines)
    current = [line for line in lines if line.start == start]
    ends = {line.end for line in current}
    if len(ends) > 1:
        raise Unmappable(
            UNMAPPABLE,
            f"subscription {subscription}: lines from {iso(start)} bill periods of different "
            f"lengths (items of different intervals), which no one payment states",
        )
    charged = sum(line.charged for line in current)
    if create and charged == 0:
        return None
    net, tax = sum(line.net for line in current), sum(line.tax for line in current)
    if net < 0 or charged < 0:
        raise Unmappable(
            UNMAPPABLE, f"subscription {subscription}: its lines from {iso(start)} sum below 0"
        )
    try:
        interval = _interval(subscription, current, start, ends.pop())
    except Unmappable:
        if charged == 0:  # a trial's period, which ends when the trial does: no price
            return None
        raise
    value: dict[str, Any] = {
        "event_id": "",  # set by the caller, which knows how many payments the event makes
        "occurred_at": iso(start),
        "account_id": account,
        "amount": str(major_units(charged, currency)),
        "currency": currency,
        "status": "succeeded",
        "kind": "subscription",
        "interval": interval[0],
        "interval_count": interval[1],
        "subscription_id": subscription,
        "quantity": sum(line.quantity for line in current),
        "tax_amount": str(major_units(tax, currency)),
    }
    product = next((line.product for line in current if line.product), None)
    if product is not None:
        value["plan"] = product
    return value


def _interval(subscription: str, lines: list[_Line], start: int, end: int) -> tuple[str, int]:
    given = {line.interval for line in lines if line.interval is not None}
    if len(given) == 1:
        interval, count = given.pop()
        if interval not in ("day", "week", "month", "year") or count < 1:
            raise Unmappable(WRONG_TYPE, f"subscription {subscription}: price interval {interval}")
        return interval, count
    inferred = period_interval(start, end)
    if inferred is None:
        raise Unmappable(
            UNMAPPABLE,
            f"subscription {subscription}: the period {iso(start)} to {iso(end)} is no whole "
            f"number of months, weeks or days, so its billing interval is unknown",
        )
    return inferred


def period_interval(start: int, end: int) -> tuple[str, int] | None:
    """The billing interval a full period from `start` to `end` (unix seconds) is.

    Calendar months first, as Stripe bills them: same time of day, and the same day of the
    month, or the anchor day clamped to a shorter month's end at either side (Jan 31 ->
    Feb 28, Feb 28 -> Mar 31 for an anchor on the 31st); twelve of them are a year. Else
    whole weeks, else whole days. None when it is none of these. A 30-day `day` interval
    that happens to span a calendar month reads as a month (within 1.4 % of its MRR).
    """
    if end <= start:
        return None
    a, b = datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
    months = (b.year - a.year) * 12 + b.month - a.month
    if months >= 1 and a.time() == b.time() and _same_anchor(a, b):
        return ("year", months // 12) if months % 12 == 0 else ("month", months)
    seconds = end - start
    if seconds % DAY:
        return None
    days = seconds // DAY
    return ("week", days // 7) if days % 7 == 0 else ("day", days)


def _same_anchor(a: datetime, b: datetime) -> bool:
    if a.day == b.day:
        return True
    if b.day < a.day:
        return b.day == calendar.monthrange(b.year, b.month)[1]
    return a.day == calendar.monthrange(a.year, a.month)[1]
