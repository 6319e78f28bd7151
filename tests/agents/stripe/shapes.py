"""Stripe objects for the tests, built from Stripe's published shapes.

Each builder starts from a deep copy of the object Stripe publishes for stripe-mock
(tests/fixtures/stripe/shapes.json, from stripe/openapi's fixtures3.json) and sets only
the fields a story needs, in the basil layout the SDK's typed objects describe
(stripe/_invoice_line_item.py, _invoice.py, _subscription.py, _event.py): lines name their
subscription and proration in `parent.subscription_item_details` and their price by id in
`pricing.price_details`, discounts in `discount_amounts`, taxes in `taxes`; a subscription's
period is on its items. Everything else stays as published, so the mapping is tested
against whole objects, not against the few fields it reads.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final

SHAPES_FILE: Final = Path(__file__).resolve().parents[2] / "fixtures" / "stripe" / "shapes.json"
SHAPES: Final[dict[str, Any]] = json.loads(SHAPES_FILE.read_text(encoding="utf-8"))
API_VERSION: Final = "2025-03-31.basil"

Obj = dict[str, Any]


def ts(text: str) -> int:
    """`2026-01-05T09:00:00Z` as Stripe's unix seconds."""
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def _shape(name: str) -> Obj:
    shape: Obj = copy.deepcopy(SHAPES[name])
    return shape


def customer(cid: str, name: str, created: str, currency: str) -> Obj:
    obj = _shape("customer")
    obj.update(id=cid, name=name, email=f"billing@{cid.removeprefix('cus_')}.example",
               created=ts(created), currency=currency, discount=None)  # fmt: skip
    return obj


def price(pid: str, product: str, unit_amount: int, currency: str, interval: str,
          count: int = 1, usage: str = "licensed") -> Obj:  # fmt: skip
    obj = _shape("price")
    obj.update(id=pid, product=product, unit_amount=unit_amount,
               unit_amount_decimal=str(unit_amount), currency=currency, transform_quantity=None,
               created=ts("2025-12-01T00:00:00Z"),
               nickname=product.removeprefix("prod_"))  # fmt: skip
    obj["recurring"] = {"interval": interval, "interval_count": count, "meter": None,
                        "usage_type": usage, "trial_period_days": None}  # fmt: skip
    return obj


def item(si: str, sub: str, the_price: Obj, quantity: int, start: str, end: str) -> Obj:
    obj = _shape("subscription_item")
    obj.update(id=si, subscription=sub, price=the_price, quantity=quantity,
               current_period_start=ts(start), current_period_end=ts(end), created=ts(start),
               billing_thresholds=None)  # fmt: skip
    plan = obj["plan"]
    recurring = the_price["recurring"]
    plan.update(id=the_price["id"], amount=the_price["unit_amount"], currency=the_price["currency"],
                interval=recurring["interval"], interval_count=recurring["interval_count"],
                product=the_price["product"], billing_scheme="per_unit", transform_usage=None,
                amount_decimal=str(the_price["unit_amount"]), livemode=False, metadata={},
                created=the_price["created"])  # fmt: skip
    return obj


def subscription(sub: str, cus: str, items: Sequence[Obj], status: str, created: str,
                 **fields: Any) -> Obj:  # fmt: skip
    """A subscription; `fields` may set `cancel_at`, `cancel_at_period_end`, `canceled_at`,
    `ended_at` (RFC 3339 text or None), `cancellation_details`, `trial_start`, `trial_end`."""
    obj = _shape("subscription")
    obj.update(id=sub, customer=cus, status=status, created=ts(created), start_date=ts(created),
               billing_cycle_anchor=ts(created), currency=items[0]["price"]["currency"],
               cancel_at=None, cancel_at_period_end=False, canceled_at=None, ended_at=None,
               trial_start=None, trial_end=None, pending_update=None, pause_collection=None,
               transfer_data=None, next_pending_invoice_item_invoice=None,
               pending_invoice_item_interval=None, billing_cycle_anchor_config=None,
               billing_thresholds=None, billing_schedules=[], managed_payments=None,
               latest_invoice=None)  # fmt: skip
    obj["cancellation_details"] = {"comment": None, "feedback": None, "reason": None}
    obj["items"]["data"] = list(items)
    obj["items"]["url"] = f"/v1/subscription_items?subscription={sub}"
    for name, value in fields.items():
        obj[name] = ts(value) if isinstance(value, str) else value
    return obj


def line(il: str, sub: str, si: str, the_price: Obj, quantity: int, amount: int, start: str,
         end: str, *, proration: bool = False, description: str | None = None,
         discounts: Sequence[tuple[str, int]] = (),
         taxes: Sequence[tuple[int, str, int]] = ()) -> Obj:  # fmt: skip
    """An invoice line of subscription item `si`; `discounts` (discount id, amount),
    `taxes` (amount, tax_behavior, taxable amount)."""
    obj = _shape("line_item")
    obj.update(id=il, amount=amount, subtotal=amount, currency=the_price["currency"],
               quantity=quantity, quantity_decimal=str(quantity), subscription=sub,
               period={"start": ts(start), "end": ts(end)}, discountable=not proration,
               description=description or f"{quantity} × {the_price['nickname']}")  # fmt: skip
    obj["parent"] = {
        "invoice_item_details": None,
        "subscription_item_details": {
            "invoice_item": f"ii_{il.removeprefix('il_')}" if proration else None,
            "proration": proration,
            "proration_details": {"credited_items": None},
            "subscription": sub,
            "subscription_item": si,
        },
        "type": "subscription_item_details",
    }
    obj["pricing"] = {
        "price_details": {"price": the_price["id"], "product": the_price["product"]},
        "type": "price_details",
        "unit_amount_decimal": the_price["unit_amount_decimal"],
    }
    obj["discounts"] = [d for d, _ in discounts]
    obj["discount_amounts"] = [{"amount": a, "discount": d} for d, a in discounts]
    obj["pretax_credit_amounts"] = [
        {"amount": a, "credit_balance_transaction": None, "discount": d, "type": "discount"}
        for d, a in discounts
    ]
    obj["taxes"] = [
        {"amount": a, "tax_behavior": behavior, "taxable_amount": base,
         "tax_rate_details": {"tax_rate": "txr_standard"}, "taxability_reason": "standard_rated",
         "type": "tax_rate_details"}
        for a, behavior, base in taxes
    ]  # fmt: skip
    return obj


def invoice(inv: str, cus: str, sub: str | None, reason: str, lines: Sequence[Obj],
            created: str, *, paid: bool = True, attempts: int = 1) -> Obj:  # fmt: skip
    """An invoice whose totals are its lines'; `paid` False: open, its attempt failed."""
    obj = _shape("invoice")
    subtotal = sum(one["amount"] for one in lines)
    discounts = sum(d["amount"] for one in lines for d in one["discount_amounts"])
    exclusive = sum(t["amount"] for one in lines for t in one["taxes"]
                    if t["tax_behavior"] == "exclusive")  # fmt: skip
    total = subtotal - discounts + exclusive
    at = ts(created)
    for one in lines:
        one["invoice"] = inv
    obj.update(id=inv, customer=cus, billing_reason=reason, created=at,
               currency=lines[0]["currency"], subtotal=subtotal, subtotal_excluding_tax=subtotal,
               total=total,
               total_excluding_tax=total - exclusive, amount_due=total,
               amount_paid=total if paid else 0, amount_remaining=0 if paid else total,
               amount_overpaid=0, amount_shipping=0, attempt_count=attempts, attempted=True,
               status="paid" if paid else "open", period_start=at, period_end=at, due_date=None,
               effective_at=at, next_payment_attempt=None, webhooks_delivered_at=at,
               from_invoice=None, last_finalization_error=None, shipping_cost=None,
               automatically_finalizes_at=None, number=f"{inv.upper()}-0001",
               subscription=None, auto_advance=not paid)  # fmt: skip
    obj["lines"] = {"data": list(lines), "has_more": False, "object": "list",
                    "url": f"/v1/invoices/{inv}/lines"}  # fmt: skip
    obj["total_discount_amounts"] = [
        {"amount": d["amount"], "discount": d["discount"]}
        for one in lines for d in one["discount_amounts"]
    ]  # fmt: skip
    obj["total_taxes"] = [t for one in lines for t in one["taxes"]] or None
    obj["parent"] = None if sub is None else {
        "quote_details": None,
        "subscription_details": {"metadata": {}, "subscription": sub},
        "type": "subscription_details",
    }  # fmt: skip
    obj["status_transitions"] = {"finalized_at": at, "marked_uncollectible_at": None,
                                 "paid_at": at if paid else None, "voided_at": None}  # fmt: skip
    return obj


def event(evt: str, kind: str, obj: Obj, created: str, previous: Obj | None = None) -> Obj:
    """A webhook event around `obj` (and, for `*.updated`, the attributes before)."""
    out = _shape("event")
    data: Obj = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    out.update(id=evt, type=kind, created=ts(created), api_version=API_VERSION, data=data,
               livemode=False, pending_webhooks=1,
               request={"id": None, "idempotency_key": None})  # fmt: skip
    return out
