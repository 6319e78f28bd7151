"""The Stripe history of six named customers, January to April 2026, in the order a webhook
endpoint receives it (tests/fixtures/stripe/history.jsonl is this, one event a line;
`.venv/bin/python -m tests.agents.stripe.history` writes it again).

- Aurora: a 14-day trial of Pro ($49/month) that converts; one renewal delivered twice.
- Borealis: Pro, then an Analytics add-on ($15/month, a second subscription); the add-on
  cancelled at period end (scheduled by an update, then deleted).
- Cobalt: Team seats ($10/seat/month), 5 seats raised to 8 mid-period, with Stripe's
  default prorations (billed on the next renewal).
- Dunmore: Pro in EUR (€49/month) with 19 % VAT on top and a 25 % coupon for two months;
  its first events arrive out of order (`updated` before `created`, the customer last).
- Eastwick: Starter ($29/month) whose renewal fails four times: past_due, then unpaid.
- Fjord: Business yearly in JPY (¥120,000, 10 % consumption tax included), cancelled at
  once with the customer's feedback.

With what a real endpoint also receives and the mapping ignores: `customer.subscription.
created`, status updates, a seat change's update, an `invoice.payment_succeeded`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Final

import orjson

from tests.agents.stripe.shapes import (
    Obj,
    customer,
    event,
    invoice,
    item,
    line,
    price,
    subscription,
)

HISTORY_FILE: Final = Path(__file__).resolve().parents[2] / "fixtures" / "stripe" / "history.jsonl"

PRO = price("price_pro_monthly", "prod_pro", 4900, "usd", "month")
PRO_EUR = price("price_pro_monthly_eur", "prod_pro", 4900, "eur", "month")
ANALYTICS = price("price_analytics_monthly", "prod_analytics", 1500, "usd", "month")
SEAT = price("price_team_seat_monthly", "prod_team", 1000, "usd", "month")
STARTER = price("price_starter_monthly", "prod_starter", 2900, "usd", "month")
BUSINESS_JPY = price("price_business_yearly_jpy", "prod_business", 120000, "jpy", "year")

Delivery = tuple[str, Obj]
"""(when the endpoint receives it, the event)."""


def _renewal(
    name: str, cus: str, sub: str, si: str, the_price: Obj, qty: int, start: str, end: str,
    reason: str = "subscription_cycle", **line_fields: Any,
) -> Obj:  # fmt: skip
    amount = the_price["unit_amount"] * qty
    lines = [line(f"il_{name}", sub, si, the_price, qty, amount, start, end, **line_fields)]
    return invoice(f"in_{name}", cus, sub, reason, lines, start)


def _paid(evt: str, inv: Obj, created: str) -> Delivery:
    return created, event(evt, "invoice.paid", inv, created)


def _customer(evt: str, cus: str, name: str, at: str, currency: str) -> Delivery:
    return at, event(evt, "customer.created", customer(cus, name, at, currency), at)


def aurora() -> list[Delivery]:
    cus, sub, si = "cus_aurora", "sub_aurora_pro", "si_aurora_pro"
    trial = {"trial_start": "2026-01-05T09:00:00Z", "trial_end": "2026-01-19T09:00:00Z"}
    in_trial = item(si, sub, PRO, 1, "2026-01-05T09:00:00Z", "2026-01-19T09:00:00Z")
    paying = item(si, sub, PRO, 1, "2026-01-19T09:00:00Z", "2026-02-19T09:00:00Z")
    trial_line = line(
        "il_aurora_0", sub, si, PRO, 1, 0, "2026-01-05T09:00:00Z", "2026-01-19T09:00:00Z",
        description="Trial period for Pro",
    )  # fmt: skip
    first = invoice("in_aurora_0", cus, sub, "subscription_create", [trial_line],
                    "2026-01-05T09:00:00Z")  # fmt: skip
    months = [("2026-01-19", "2026-02-19"), ("2026-02-19", "2026-03-19"),
              ("2026-03-19", "2026-04-19"), ("2026-04-19", "2026-05-19")]  # fmt: skip
    renewals = [
        _renewal(f"aurora_{n}", cus, sub, si, PRO, 1, f"{a}T09:00:00Z", f"{b}T09:00:00Z")
        for n, (a, b) in enumerate(months, 1)
    ]
    out = [
        _customer("evt_aurora_customer", cus, "Aurora Labs", "2026-01-05T09:00:00Z", "usd"),
        ("2026-01-05T09:00:01Z", event(
            "evt_aurora_sub_created", "customer.subscription.created",
            subscription(sub, cus, [in_trial], "trialing", "2026-01-05T09:00:00Z", **trial),
            "2026-01-05T09:00:01Z")),
        _paid("evt_aurora_invoice_0", first, "2026-01-05T09:00:02Z"),
        ("2026-01-19T09:00:00Z", event(
            "evt_aurora_trial_over", "customer.subscription.updated",
            subscription(sub, cus, [paying], "active", "2026-01-05T09:00:00Z", **trial),
            "2026-01-19T09:00:00Z", previous={"status": "trialing"})),
    ]  # fmt: skip
    for n, renewal in enumerate(renewals, 1):
        paid_at = f"{months[n - 1][0]}T10:00:00Z"
        out.append(_paid(f"evt_aurora_invoice_{n}", renewal, paid_at))
    out.append(("2026-02-19T10:00:00Z", event(
        "evt_aurora_invoice_2_succeeded", "invoice.payment_succeeded", renewals[1],
        "2026-02-19T10:00:00Z")))  # fmt: skip
    again = next(evt for _, evt in out if evt["id"] == "evt_aurora_invoice_2")
    out.append(("2026-02-19T12:00:00Z", again))  # Stripe delivers it once more
    return out


def borealis() -> list[Delivery]:
    cus, base, addon = "cus_borealis", "sub_borealis_pro", "sub_borealis_analytics"
    si_base, si_addon = "si_borealis_pro", "si_borealis_analytics"
    addon_item = item(si_addon, addon, ANALYTICS, 1, "2026-02-12T10:00:00Z", "2026-03-12T10:00:00Z")
    details = {"comment": "We no longer use the analytics", "feedback": "unused",
               "reason": "cancellation_requested"}  # fmt: skip
    ending = {"cancel_at": "2026-03-12T10:00:00Z", "cancel_at_period_end": True,
              "canceled_at": "2026-03-05T16:30:00Z", "cancellation_details": details}  # fmt: skip
    unset = {"comment": None, "feedback": None, "reason": None}
    before = {"cancel_at": None, "cancel_at_period_end": False, "canceled_at": None,
              "cancellation_details": unset}  # fmt: skip
    created = "2026-02-12T10:00:00Z"
    return [
        _customer("evt_borealis_customer", cus, "Borealis GmbH", "2026-02-02T14:00:00Z", "usd"),
        _paid("evt_borealis_invoice_1", _renewal(
            "borealis_1", cus, base, si_base, PRO, 1, "2026-02-02T14:00:00Z",
            "2026-03-02T14:00:00Z", "subscription_create"), "2026-02-02T14:00:01Z"),
        (created, event(
            "evt_borealis_addon_created", "customer.subscription.created",
            subscription(addon, cus, [addon_item], "active", created), created)),
        _paid("evt_borealis_addon_invoice_1", _renewal(
            "borealis_addon_1", cus, addon, si_addon, ANALYTICS, 1, created,
            "2026-03-12T10:00:00Z", "subscription_create"), "2026-02-12T10:00:01Z"),
        _paid("evt_borealis_invoice_2", _renewal(
            "borealis_2", cus, base, si_base, PRO, 1, "2026-03-02T14:00:00Z",
            "2026-04-02T14:00:00Z"), "2026-03-02T15:00:00Z"),
        ("2026-03-05T16:30:00Z", event(
            "evt_borealis_addon_cancel", "customer.subscription.updated",
            subscription(addon, cus, [addon_item], "active", created, **ending),
            "2026-03-05T16:30:00Z", previous=before)),
        ("2026-03-12T10:00:05Z", event(
            "evt_borealis_addon_deleted", "customer.subscription.deleted",
            subscription(addon, cus, [addon_item], "canceled", created, **ending,
                         ended_at="2026-03-12T10:00:00Z"),
            "2026-03-12T10:00:05Z")),
        _paid("evt_borealis_invoice_3", _renewal(
            "borealis_3", cus, base, si_base, PRO, 1, "2026-04-02T14:00:00Z",
            "2026-05-02T14:00:00Z"), "2026-04-02T15:00:00Z"),
    ]  # fmt: skip


def cobalt() -> list[Delivery]:
    cus, sub, si = "cus_cobalt", "sub_cobalt_team", "si_cobalt_team"
    five = item(si, sub, SEAT, 5, "2026-01-15T08:00:00Z", "2026-02-15T08:00:00Z")
    eight = item(si, sub, SEAT, 8, "2026-01-15T08:00:00Z", "2026-02-15T08:00:00Z")
    change, end = "2026-02-01T12:00:00Z", "2026-02-15T08:00:00Z"
    # 13 d 20 h of the 31-day period remain: 5 seats credited, 8 charged, for that part
    credit = line("il_cobalt_2_credit", sub, si, SEAT, 5, -2231, change, end, proration=True,
                  description="Unused time on 5 × Team seat after 01 Feb 2026")  # fmt: skip
    debit = line("il_cobalt_2_debit", sub, si, SEAT, 8, 3570, change, end, proration=True,
                 description="Remaining time on 8 × Team seat after 01 Feb 2026")  # fmt: skip
    full = line("il_cobalt_2", sub, si, SEAT, 8, 8000, end, "2026-03-15T08:00:00Z")
    second = invoice("in_cobalt_2", cus, sub, "subscription_cycle", [full, credit, debit], end)
    return [
        _customer("evt_cobalt_customer", cus, "Cobalt & Sons", "2026-01-15T08:00:00Z", "usd"),
        _paid("evt_cobalt_invoice_1", _renewal(
            "cobalt_1", cus, sub, si, SEAT, 5, "2026-01-15T08:00:00Z", end,
            "subscription_create"), "2026-01-15T08:00:01Z"),
        (change, event(
            "evt_cobalt_seats", "customer.subscription.updated",
            subscription(sub, cus, [eight], "active", "2026-01-15T08:00:00Z"), change,
            previous={"items": {"data": [five], "has_more": False, "object": "list",
                                "url": f"/v1/subscription_items?subscription={sub}"}})),
        _paid("evt_cobalt_invoice_2", second, "2026-02-15T09:00:00Z"),
        _paid("evt_cobalt_invoice_3", _renewal(
            "cobalt_3", cus, sub, si, SEAT, 8, "2026-03-15T08:00:00Z",
            "2026-04-15T08:00:00Z"), "2026-03-15T09:00:00Z"),
        _paid("evt_cobalt_invoice_4", _renewal(
            "cobalt_4", cus, sub, si, SEAT, 8, "2026-04-15T08:00:00Z",
            "2026-05-15T08:00:00Z"), "2026-04-15T09:00:00Z"),
    ]  # fmt: skip


def dunmore() -> list[Delivery]:
    cus, sub, si = "cus_dunmore", "sub_dunmore_pro", "si_dunmore_pro"
    at = "2026-02-01T10:00:00Z"
    the_item = item(si, sub, PRO_EUR, 1, at, "2026-03-01T10:00:00Z")
    coupon = {"discounts": [("di_dunmore_welcome25", 1225)], "taxes": [(698, "exclusive", 3675)]}

    def month(n: int, start: str, end: str, **fields: Any) -> Obj:
        reason = "subscription_create" if n == 1 else "subscription_cycle"
        return _renewal(f"dunmore_{n}", cus, sub, si, PRO_EUR, 1, start, end, reason, **fields)

    return [  # the endpoint receives the first four out of order
        ("2026-02-01T10:00:03Z", event(
            "evt_dunmore_sub_active", "customer.subscription.updated",
            subscription(sub, cus, [the_item], "active", at), "2026-02-01T10:00:02Z",
            previous={"status": "incomplete"})),
        ("2026-02-01T10:00:04Z", event(
            "evt_dunmore_sub_created", "customer.subscription.created",
            subscription(sub, cus, [the_item], "incomplete", at), "2026-02-01T10:00:00Z")),
        ("2026-02-01T10:00:05Z", event(
            "evt_dunmore_invoice_1", "invoice.paid",
            month(1, at, "2026-03-01T10:00:00Z", **coupon), "2026-02-01T10:00:01Z")),
        ("2026-02-01T10:00:06Z", event(
            "evt_dunmore_customer", "customer.created",
            customer(cus, "Dunmore Ltd", at, "eur"), at)),
        _paid("evt_dunmore_invoice_2", month(
            2, "2026-03-01T10:00:00Z", "2026-04-01T10:00:00Z", **coupon), "2026-03-01T11:00:00Z"),
        _paid("evt_dunmore_invoice_3", month(
            3, "2026-04-01T10:00:00Z", "2026-05-01T10:00:00Z",
            taxes=[(931, "exclusive", 4900)]), "2026-04-01T11:00:00Z"),
    ]  # fmt: skip


def eastwick() -> list[Delivery]:
    cus, sub, si = "cus_eastwick", "sub_eastwick_starter", "si_eastwick_starter"
    due = item(si, sub, STARTER, 1, "2026-03-10T11:00:00Z", "2026-04-10T11:00:00Z")
    unpaid = _renewal("eastwick_3", cus, sub, si, STARTER, 1, "2026-03-10T11:00:00Z",
                      "2026-04-10T11:00:00Z")  # fmt: skip
    out = [
        _customer("evt_eastwick_customer", cus, "Eastwick Inc", "2026-01-10T11:00:00Z", "usd"),
        _paid("evt_eastwick_invoice_1", _renewal(
            "eastwick_1", cus, sub, si, STARTER, 1, "2026-01-10T11:00:00Z",
            "2026-02-10T11:00:00Z", "subscription_create"), "2026-01-10T11:00:01Z"),
        _paid("evt_eastwick_invoice_2", _renewal(
            "eastwick_2", cus, sub, si, STARTER, 1, "2026-02-10T11:00:00Z",
            "2026-03-10T11:00:00Z"), "2026-02-10T12:00:00Z"),
    ]  # fmt: skip
    for attempt, day in enumerate(("2026-03-10", "2026-03-13", "2026-03-17", "2026-03-24"), 1):
        failed = dict(unpaid, status="open", amount_paid=0, amount_remaining=2900,
                      attempt_count=attempt)  # fmt: skip
        failed["status_transitions"] = dict(unpaid["status_transitions"], paid_at=None)
        at = f"{day}T12:00:00Z"
        out.append((at, event(f"evt_eastwick_failed_{attempt}", "invoice.payment_failed",
                              failed, at)))  # fmt: skip
    for evt, at, status, before in (
        ("evt_eastwick_past_due", "2026-03-10T12:00:01Z", "past_due", "active"),
        ("evt_eastwick_unpaid", "2026-03-24T12:00:01Z", "unpaid", "past_due"),
    ):
        out.append((at, event(
            evt, "customer.subscription.updated",
            subscription(sub, cus, [due], status, "2026-01-10T11:00:00Z"), at,
            previous={"status": before})))  # fmt: skip
    return out


def fjord() -> list[Delivery]:
    cus, sub, si = "cus_fjord", "sub_fjord_business", "si_fjord_business"
    start, end = "2026-01-20T03:00:00Z", "2027-01-20T03:00:00Z"
    the_item = item(si, sub, BUSINESS_JPY, 1, start, end)
    details = {"comment": "Over budget this year", "feedback": "too_expensive",
               "reason": "cancellation_requested"}  # fmt: skip
    gone = subscription(sub, cus, [the_item], "canceled", start, canceled_at="2026-04-08T05:00:00Z",
                        ended_at="2026-04-08T05:00:00Z", cancellation_details=details)  # fmt: skip
    return [
        _customer("evt_fjord_customer", cus, "Fjord KK", start, "jpy"),
        _paid("evt_fjord_invoice_1", _renewal(
            "fjord_1", cus, sub, si, BUSINESS_JPY, 1, start, end, "subscription_create",
            taxes=[(10909, "inclusive", 109091)]), "2026-01-20T03:00:01Z"),
        ("2026-04-08T05:00:01Z", event(
            "evt_fjord_deleted", "customer.subscription.deleted", gone, "2026-04-08T05:00:01Z")),
    ]  # fmt: skip


def history() -> list[Obj]:
    """Every customer's events, in the order the endpoint receives them."""
    deliveries = [d for story in (aurora, borealis, cobalt, dunmore, eastwick, fjord)
                  for d in story()]  # fmt: skip
    deliveries.sort(key=lambda delivery: delivery[0])
    return [evt for _, evt in deliveries]


def history_bytes() -> bytes:
    return b"".join(orjson.dumps(evt) + b"\n" for evt in history())


if __name__ == "__main__":
    HISTORY_FILE.write_bytes(history_bytes())
    sys.stdout.write(f"wrote {HISTORY_FILE} ({len(history())} events)\n")
