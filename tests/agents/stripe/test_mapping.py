"""`map_event` on Stripe-shaped events: the named customers' history event by event, then
the cases the history does not reach (several subscriptions on one invoice, prorations
only, metered usage, three-decimal money, what is rejected and why)."""

from __future__ import annotations

import copy
import random
from typing import Any

import orjson
import pytest

from agents.stripe.fields import major_units
from agents.stripe.invoices import period_interval
from agents.stripe.mapping import Event, Ignored, Mapped, Rejected, Result, map_event
from tests.agents.stripe.history import (
    HISTORY_FILE,
    PRO,
    SEAT,
    history,
    history_bytes,
)
from tests.agents.stripe.shapes import (
    Obj,
    event,
    invoice,
    item,
    line,
    price,
    subscription,
    ts,
)

USD = {"currency": "USD", "status": "succeeded", "kind": "subscription", "interval": "month",
       "interval_count": 1, "quantity": 1, "tax_amount": "0.00"}  # fmt: skip


def _paid(evt: str, at: str, account: str, sub: str, amount: str, plan: str, **more: Any) -> Obj:
    return {"event_id": evt, "occurred_at": at, "account_id": account, "amount": amount,
            **USD, "subscription_id": sub, "plan": plan, **more}  # fmt: skip


def _failed(n: int, day: str) -> Obj:
    return {"event_id": f"evt_eastwick_failed_{n}", "occurred_at": f"{day}T12:00:00Z",
            "account_id": "cus_eastwick", "amount": "29.00", "currency": "USD",
            "status": "failed", "kind": "subscription",
            "subscription_id": "sub_eastwick_starter"}  # fmt: skip


def _signup(name: str, at: str) -> tuple[str, list[tuple[str, Obj]]]:
    evt = f"evt_{name}_customer"
    return evt, [("signup", {"event_id": evt, "occurred_at": at, "account_id": f"cus_{name}"})]


ADDON_END = {"account_id": "cus_borealis", "subscription_id": "sub_borealis_analytics",
             "reason": "cancellation_requested", "voluntary": True,
             "comment": "We no longer use the analytics",
             "effective_at": "2026-03-12T10:00:00Z"}  # fmt: skip

Expected = list[tuple[str, Obj]] | str
"""The events an event maps to (kind, value), or the start of why it is ignored."""
SIGNUPS: dict[str, Expected] = dict(
    [
        _signup("aurora", "2026-01-05T09:00:00Z"),
        _signup("borealis", "2026-02-02T14:00:00Z"),
        _signup("cobalt", "2026-01-15T08:00:00Z"),
        _signup("dunmore", "2026-02-01T10:00:00Z"),
        _signup("eastwick", "2026-01-10T11:00:00Z"),
        _signup("fjord", "2026-01-20T03:00:00Z"),
    ]
)
HISTORY: dict[str, Expected] = {
    **SIGNUPS,
    # a trial that converts: the trial's 0 invoice makes no payment, the first renewal is new
    "evt_aurora_sub_created": "an event type that changes no figure",
    "evt_aurora_invoice_0": "a subscription invoiced at no charge (a trial",
    "evt_aurora_trial_over": "an update that schedules no cancellation",
    **{
        f"evt_aurora_invoice_{n}": [("payment", _paid(
            f"evt_aurora_invoice_{n}", f"2026-0{n}-19T09:00:00Z", "cus_aurora",
            "sub_aurora_pro", "49.00", "prod_pro"))]
        for n in range(1, 5)
    },
    "evt_aurora_invoice_2_succeeded": "an event type that changes no figure",
    # a base plan plus an add-on (its own subscription), the add-on cancelled at period end
    "evt_borealis_invoice_1": [("payment", _paid(
        "evt_borealis_invoice_1", "2026-02-02T14:00:00Z", "cus_borealis", "sub_borealis_pro",
        "49.00", "prod_pro"))],
    "evt_borealis_addon_created": "an event type that changes no figure",
    "evt_borealis_addon_invoice_1": [("payment", _paid(
        "evt_borealis_addon_invoice_1", "2026-02-12T10:00:00Z", "cus_borealis",
        "sub_borealis_analytics", "15.00", "prod_analytics"))],
    "evt_borealis_invoice_2": [("payment", _paid(
        "evt_borealis_invoice_2", "2026-03-02T14:00:00Z", "cus_borealis", "sub_borealis_pro",
        "49.00", "prod_pro"))],
    "evt_borealis_addon_cancel": [("cancellation", {
        "event_id": "evt_borealis_addon_cancel", "occurred_at": "2026-03-05T16:30:00Z",
        **ADDON_END})],
    "evt_borealis_addon_deleted": [("cancellation", {
        "event_id": "evt_borealis_addon_deleted", "occurred_at": "2026-03-12T10:00:00Z",
        **ADDON_END})],
    "evt_borealis_invoice_3": [("payment", _paid(
        "evt_borealis_invoice_3", "2026-04-02T14:00:00Z", "cus_borealis", "sub_borealis_pro",
        "49.00", "prod_pro"))],
    # a seat change with prorations: the renewal bills 8 seats in full, the prorations of
    # the old period (credit for 5 seats, charge for 8) are no recurring price
    "evt_cobalt_invoice_1": [("payment", _paid(
        "evt_cobalt_invoice_1", "2026-01-15T08:00:00Z", "cus_cobalt", "sub_cobalt_team",
        "50.00", "prod_team", quantity=5))],
    "evt_cobalt_seats": "an update that schedules no cancellation",
    **{
        f"evt_cobalt_invoice_{n}": [("payment", _paid(
            f"evt_cobalt_invoice_{n}", f"2026-0{n}-15T08:00:00Z", "cus_cobalt",
            "sub_cobalt_team", "80.00", "prod_team", quantity=8))]
        for n in (2, 3, 4)
    },
    # a coupon (25 % for two months) and VAT on top: amount is what was charged, tax inside
    "evt_dunmore_sub_active": "an update that schedules no cancellation",
    "evt_dunmore_sub_created": "an event type that changes no figure",
    **{
        f"evt_dunmore_invoice_{n}": [("payment", _paid(
            f"evt_dunmore_invoice_{n}", f"2026-0{n + 1}-01T10:00:00Z", "cus_dunmore",
            "sub_dunmore_pro", amount, "prod_pro", currency="EUR", tax_amount=tax))]
        for n, amount, tax in ((1, "43.73", "6.98"), (2, "43.73", "6.98"), (3, "58.31", "9.31"))
    },
    # a failed renewal: past_due, then unpaid (status updates map to nothing)
    **{
        f"evt_eastwick_invoice_{n}": [("payment", _paid(
            f"evt_eastwick_invoice_{n}", f"2026-0{n}-10T11:00:00Z", "cus_eastwick",
            "sub_eastwick_starter", "29.00", "prod_starter"))]
        for n in (1, 2)
    },
    **{
        f"evt_eastwick_failed_{n}": [("payment", _failed(n, day))]
        for n, day in enumerate(("2026-03-10", "2026-03-13", "2026-03-17", "2026-03-24"), 1)
    },
    "evt_eastwick_past_due": "an update that schedules no cancellation",
    "evt_eastwick_unpaid": "an update that schedules no cancellation",
    # yearly, zero-decimal JPY with tax included; deleted at once
    "evt_fjord_invoice_1": [("payment", _paid(
        "evt_fjord_invoice_1", "2026-01-20T03:00:00Z", "cus_fjord", "sub_fjord_business",
        "120000", "prod_business", currency="JPY", interval="year", tax_amount="10909"))],
    "evt_fjord_deleted": [("cancellation", {
        "event_id": "evt_fjord_deleted", "occurred_at": "2026-04-08T05:00:00Z",
        "account_id": "cus_fjord", "subscription_id": "sub_fjord_business",
        "reason": "cancellation_requested", "voluntary": True,
        "comment": "Over budget this year", "effective_at": "2026-04-08T05:00:00Z"})],
}  # fmt: skip


def _as_data(result: Result) -> Expected:
    if isinstance(result, Mapped):
        return [(one.kind, one.value) for one in result.events]
    assert isinstance(result, Ignored), result
    return result.why


def test_the_history_file_is_what_history_py_builds() -> None:
    assert HISTORY_FILE.read_bytes() == history_bytes(), (
        "run .venv/bin/python -m tests.agents.stripe.history"
    )


def test_every_event_of_the_history_is_in_the_table() -> None:
    assert {evt["id"] for evt in history()} == set(HISTORY)


@pytest.mark.parametrize("evt", history(), ids=lambda evt: str(evt["id"]))
def test_history_event(evt: Obj) -> None:
    got = _as_data(map_event(evt))
    want = HISTORY[evt["id"]]
    if isinstance(want, str):
        assert isinstance(got, str) and got.startswith(want)
    else:
        assert got == want


def test_a_redelivered_event_maps_to_the_same_events() -> None:
    copies = [evt for evt in history() if evt["id"] == "evt_aurora_invoice_2"]
    assert len(copies) == 2
    first, second = (map_event(orjson.loads(orjson.dumps(evt))) for evt in copies)
    assert first == second  # same event ids: the engine counts the second a duplicate


def test_mapping_does_not_depend_on_the_order_of_arrival() -> None:
    events = history()
    in_order = [map_event(evt) for evt in events]
    shuffled = list(range(len(events)))
    random.Random(13).shuffle(shuffled)
    for index in shuffled:
        assert map_event(copy.deepcopy(events[index])) == in_order[index]


# Cases beyond the history ---------------------------------------------------------------

MAR, APR, MAY = "2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z"


def _invoice(lines: list[Obj], reason: str = "subscription_cycle", sub: str | None = "sub_a",
             cus: str = "cus_x") -> Obj:  # fmt: skip
    return event("evt_case", "invoice.paid", invoice("in_case", cus, sub, reason, lines, APR), APR)


def _line(name: str, sub: str, the_price: Obj, amount: int, start: str = APR, end: str = MAY,
          **more: Any) -> Obj:  # fmt: skip
    return line(f"il_{name}", sub, f"si_{name}", the_price, 1, amount, start, end, **more)


def _values(result: Result) -> list[Obj]:
    assert isinstance(result, Mapped), result
    return [one.value for one in result.events]


def test_an_invoice_of_two_subscriptions_makes_two_payments_with_distinct_ids() -> None:
    result = map_event(_invoice([_line("a", "sub_a", PRO, 4900), _line("b", "sub_b", SEAT, 1000)]))
    values = _values(result)
    assert [(v["event_id"], v["subscription_id"], v["amount"]) for v in values] == [
        ("evt_case:sub_a", "sub_a", "49.00"),
        ("evt_case:sub_b", "sub_b", "10.00"),
    ]


def test_an_update_invoice_of_prorations_only_is_ignored() -> None:
    credit = _line("c", "sub_a", SEAT, -500, "2026-04-15T00:00:00Z", MAY, proration=True)
    debit = _line("d", "sub_a", SEAT, 800, "2026-04-15T00:00:00Z", MAY, proration=True)
    result = map_event(_invoice([credit, debit], "subscription_update"))
    assert isinstance(result, Ignored) and "prorations" in result.why


def test_an_update_that_restarts_the_period_pays_the_new_price_without_its_credit() -> None:
    yearly = price("price_pro_yearly", "prod_pro", 49000, "usd", "year")
    credit = _line("c", "sub_a", PRO, -2450, "2026-04-15T00:00:00Z", MAY, proration=True)
    full = _line("y", "sub_a", yearly, 49000, "2026-04-15T00:00:00Z", "2027-04-15T00:00:00Z")
    (value,) = _values(map_event(_invoice([credit, full], "subscription_update")))
    assert (value["amount"], value["interval"], value["interval_count"]) == ("490.00", "year", 1)
    assert value["occurred_at"] == "2026-04-15T00:00:00Z"


def test_usage_in_arrears_and_one_off_items_are_no_recurring_price() -> None:
    usage = price("price_api_calls", "prod_api", 2, "usd", "month", usage="metered")
    arrears = _line("u", "sub_a", usage, 1234, MAR, APR)  # last period's usage
    setup = _line("s", "sub_a", PRO, 9900)
    one_off = {"invoice_item": "ii_setup", "proration": False, "proration_details": None,
               "subscription": "sub_a"}  # fmt: skip
    setup["parent"] = {"invoice_item_details": one_off, "subscription_item_details": None,
                       "type": "invoice_item_details"}  # fmt: skip
    metered_now = _line("m", "sub_a", usage, 500)
    metered_now["pricing"]["price_details"]["price"] = usage  # expanded, as it may be
    (value,) = _values(map_event(_invoice([_line("a", "sub_a", PRO, 4900), arrears, setup,
                                           metered_now])))  # fmt: skip
    assert (value["amount"], value["occurred_at"]) == ("49.00", APR)


def test_an_expanded_price_gives_the_interval() -> None:
    weekly = price("price_weekly", "prod_w", 700, "usd", "week", 2)
    paid = _line("w", "sub_a", weekly, 700, APR, "2026-04-15T00:00:00Z")
    paid["pricing"]["price_details"]["price"] = weekly
    (value,) = _values(map_event(_invoice([paid])))
    assert (value["interval"], value["interval_count"]) == ("week", 2)


def test_three_decimal_currencies_and_inclusive_taxes() -> None:
    kwd = price("price_kwd", "prod_k", 12345, "kwd", "month")
    taxed = _line("k", "sub_a", kwd, 12345, taxes=[(588, "inclusive", 11757)],
                  discounts=[("di_k", 345)])  # fmt: skip
    (value,) = _values(map_event(_invoice([taxed])))
    assert (value["currency"], value["amount"], value["tax_amount"]) == ("KWD", "12.000", "0.588")


def test_a_cancellation_at_period_end_without_cancel_at_ends_with_the_items_period() -> None:
    sub = subscription("sub_a", "cus_x", [item("si_a", "sub_a", PRO, 1, APR, MAY)], "active",
                       APR, cancel_at_period_end=True)  # fmt: skip
    result = map_event(event("evt_c", "customer.subscription.updated", sub, "2026-04-10T00:00:00Z",
                             previous={"cancel_at_period_end": False}))  # fmt: skip
    (value,) = _values(result)
    assert (value["occurred_at"], value["effective_at"]) == ("2026-04-10T00:00:00Z", MAY)


def test_an_update_that_keeps_a_scheduled_cancellation_is_ignored() -> None:
    sub = subscription("sub_a", "cus_x", [item("si_a", "sub_a", PRO, 1, APR, MAY)], "active",
                       APR, cancel_at=MAY, cancel_at_period_end=True)  # fmt: skip
    result = map_event(event("evt_c", "customer.subscription.updated", sub, "2026-04-10T00:00:00Z",
                             previous={"metadata": {}}))  # fmt: skip
    assert isinstance(result, Ignored) and "already scheduled" in result.why


def test_a_deletion_after_failed_payments_is_involuntary() -> None:
    sub = subscription("sub_a", "cus_x", [item("si_a", "sub_a", PRO, 1, APR, MAY)], "canceled",
                       APR, ended_at="2026-04-20T00:00:00Z",
                       cancellation_details={"comment": None, "feedback": None,
                                             "reason": "payment_failed"})  # fmt: skip
    (value,) = _values(map_event(event("evt_d", "customer.subscription.deleted", sub,
                                       "2026-04-20T00:00:01Z")))  # fmt: skip
    assert (value["reason"], value["voluntary"]) == ("payment_failed", False)
    assert value["occurred_at"] == value["effective_at"] == "2026-04-20T00:00:00Z"


def test_a_trial_begun_by_an_update_is_no_payment_a_free_period_is_one_of_0() -> None:
    trial = _line("t", "sub_a", PRO, 0, "2026-04-03T17:22:09Z", "2026-04-17T00:00:00Z")
    result = map_event(_invoice([trial], "subscription_update"))
    assert isinstance(result, Ignored) and "no charge" in result.why
    free = _line("f", "sub_a", PRO, 4900, discounts=[("di_free", 4900)])
    (value,) = _values(map_event(_invoice([free])))
    assert (value["amount"], value["interval"]) == ("0.00", "month")  # a 100 % coupon: MRR 0


def test_other_billing_reasons_are_ignored() -> None:
    result = map_event(_invoice([_line("a", "sub_a", PRO, 4900)], "manual", sub=None))
    assert isinstance(result, Ignored) and "billing_reason manual" in result.why


def _broken(change: str) -> Obj:
    evt = _invoice([_line("a", "sub_a", PRO, 4900)])
    if change == "no customer":
        evt["data"]["object"]["customer"] = None
    elif change == "old version":
        evt["api_version"] = "2024-06-20"
    elif change == "amount as text":
        evt["data"]["object"]["lines"]["data"][0]["amount"] = "4900"
    elif change == "odd period":
        evt["data"]["object"]["lines"]["data"][0]["period"]["end"] = ts(MAY) + 3600
    elif change == "no id":
        del evt["id"]
    elif change == "not an event":
        evt = evt["data"]["object"]
    return evt


@pytest.mark.parametrize(
    ("change", "reason", "words"),
    [
        ("no customer", "missing_field", "customer is missing"),
        ("old version", "old_api_version", "2024-06-20 is older than 2025-03-31.basil"),
        ("amount as text", "wrong_type", "data[0].amount"),
        ("odd period", "unmappable", "billing interval is unknown"),
        ("no id", "missing_field", "id is missing"),
        ("not an event", "wrong_type", "object is 'invoice'"),
    ],
)
def test_what_cannot_be_mapped_is_rejected_with_its_reason(
    change: str, reason: str, words: str
) -> None:
    result = map_event(_broken(change))
    assert isinstance(result, Rejected), result
    assert result.reason == reason and words in result.message, result
    if change not in ("no customer", "not an event"):
        assert result.account_id == "cus_x"  # the dead letter's key


def test_a_mapped_value_the_models_refuse_is_rejected() -> None:
    sub = subscription("sub_a", "cus_x", [item("si_a", "sub_a", PRO, 1, APR, MAY)], "active",
                       APR, cancel_at=APR)  # fmt: skip
    result = map_event(event("evt_c", "customer.subscription.updated", sub, MAY,
                             previous={"cancel_at": None}))  # fmt: skip
    assert isinstance(result, Rejected) and result.reason == "invalid_event"
    assert "effective_at is before occurred_at" in result.message


def test_a_non_object_is_rejected() -> None:
    assert map_event([1, 2]) == Rejected(None, "not_object", "a Stripe event is a JSON object")


@pytest.mark.parametrize(
    ("start", "end", "interval"),
    [
        ("2026-01-31T10:00:00Z", "2026-02-28T10:00:00Z", ("month", 1)),  # anchor 31, clamped
        ("2026-02-28T10:00:00Z", "2026-03-31T10:00:00Z", ("month", 1)),  # and back
        ("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", ("month", 1)),
        ("2026-01-15T08:00:00Z", "2026-04-15T08:00:00Z", ("month", 3)),
        ("2026-01-20T03:00:00Z", "2027-01-20T03:00:00Z", ("year", 1)),
        ("2024-02-29T00:00:00Z", "2025-02-28T00:00:00Z", ("year", 1)),
        ("2026-02-22T00:00:00Z", "2026-03-01T00:00:00Z", ("week", 1)),
        ("2026-01-05T09:00:00Z", "2026-01-19T09:00:00Z", ("week", 2)),
        ("2026-01-05T09:00:00Z", "2026-01-08T09:00:00Z", ("day", 3)),
        ("2026-01-05T09:00:00Z", "2026-02-05T10:00:00Z", None),
        ("2026-01-05T09:00:00Z", "2026-01-05T09:00:00Z", None),
    ],
)
def test_period_interval(start: str, end: str, interval: tuple[str, int] | None) -> None:
    assert period_interval(ts(start), ts(end)) == interval


@pytest.mark.parametrize(
    ("minor", "currency", "major"),
    [(4373, "USD", "43.73"), (120000, "JPY", "120000"), (12345, "KWD", "12.345"),
     (500, "ISK", "5.00"), (5, "EUR", "0.05"), (0, "USD", "0.00")],
)  # fmt: skip
def test_minor_units(minor: int, currency: str, major: str) -> None:
    assert str(major_units(minor, currency)) == major


def test_events_carry_their_account() -> None:
    assert Event("signup", {"account_id": "cus_x"}).account_id == "cus_x"
