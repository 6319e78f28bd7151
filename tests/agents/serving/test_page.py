"""The dashboard page as served at `/`: the current figures and alerts are in its HTML, so
the first paint (a screenshot, a browser without scripts) has numbers, money with its
currency, alerts newest first, and no empty half row."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from agents.serving.page import money, newest_first, render_page
from agents.serving.web import STATIC

TEMPLATE = (STATIC / "index.html").read_text(encoding="utf-8")
METRICS: dict[str, object] = {
    "as_of": "2026-06-29T23:58:13Z", "day": "2026-06-29", "currency": "USD",
    "mrr": Decimal("49560.51"), "arr": Decimal("594726.12"), "paying_customers": 269,
    "arpa": Decimal("184.24"), "net_new_mrr": Decimal("8323.42"), "dau": 318, "wau": 996,
    "mau": 1434, "stickiness": Decimal("0.2218"), "customer_churn_rate": Decimal("2.19"),
    "gross_mrr_churn_rate": None, "net_mrr_churn_rate": Decimal("0.94"), "grr": Decimal("93.90"),
    "nrr": Decimal("98.08"), "retention_rate": Decimal("98.25"), "nps": Decimal("17.6"),
    "nps_margin": Decimal("6.9"), "nps_responses": 483,
}  # fmt: skip


def _alert(n: int, as_of: str) -> dict[str, Any]:
    return {
        "alert_id": f"id-{n}", "rule": "downgrade", "severity": "warning",
        "account_id": f"acct-{n}", "as_of": as_of, "message": f"alert {n} <b>", "facts": {},
    }  # fmt: skip


def _text(page: str, element: str) -> str:
    found = re.search(rf'id="{element}"[^>]*>([^<]*)<', page)
    assert found is not None, element
    return found.group(1)


def test_the_served_page_holds_the_figures_with_their_currency() -> None:
    page = render_page(TEMPLATE, METRICS, [])
    assert _text(page, "mrr") == "$49,560.51"
    assert _text(page, "arr") == "$594,726.12"
    assert _text(page, "arpa") == "$184.24" and _text(page, "net_new_mrr") == "+$8,323.42"
    assert _text(page, "currency") == "USD"
    assert _text(page, "dau") == "318" and _text(page, "mau") == "1,434"
    assert _text(page, "stickiness") == "22.2 %" and _text(page, "nrr") == "98.08 %"
    assert _text(page, "gross_mrr_churn_rate") == "–"
    assert _text(page, "nps") == "17.6 ± 6.9" and _text(page, "as-of") == METRICS["as_of"]
    assert "connecting" not in page
    assert re.search(r'id="mrr"[^>]*>\$49,560\.51<span class="unit">/ month</span>', page)


def test_money_in_another_currency() -> None:
    page = render_page(TEMPLATE, {**METRICS, "currency": "EUR"}, [])
    assert _text(page, "mrr") == "€49,560.51" and _text(page, "currency") == "EUR"
    assert money(Decimal("-1000"), "CHF") == "-CHF 1,000.00"
    assert money(None, "USD") == "–"


def test_alerts_are_newest_first_by_their_own_time_and_escaped() -> None:
    # stream order (arrival) is not time order: a global alert of a closed day comes late
    alerts = [
        _alert(1, "2026-03-02T00:00:00Z"),
        _alert(2, "2026-03-05T00:00:00.500000Z"),
        _alert(3, "2026-03-01T00:00:00Z"),
        _alert(4, "2026-03-05T00:00:00.500000+00:00"),
    ]
    assert [a["alert_id"] for a in newest_first(alerts)] == ["id-4", "id-2", "id-1", "id-3"]
    page = render_page(TEMPLATE, METRICS, alerts)
    shown = re.findall(r"acct-(\d)", page)
    assert shown == ["4", "2", "1", "3"]
    assert "&lt;b&gt;" in page and "<b>" not in page


def test_without_figures_the_page_says_so_and_keeps_its_dashes() -> None:
    page = render_page(TEMPLATE, None, [])
    assert _text(page, "status") == "no figures yet" and _text(page, "mrr") == "–"


def test_the_alerts_fill_the_bottom_row() -> None:
    """Six cards under the wide MRR card in two columns leave half a row empty; the alerts
    card spans the row."""
    assert re.search(r'<section class="card wide" id="alerts-card"', TEMPLATE)
    cards = re.findall(r'<section class="card( wide)?"', TEMPLATE)
    narrow = sum(1 for wide in cards if not wide)
    assert narrow % 2 == 0, cards


def test_the_script_writes_money_and_orders_alerts_like_the_server() -> None:
    script = (STATIC / "dashboard.js").read_text(encoding="utf-8")
    assert 'SYMBOLS = { USD: "$", EUR: "€", GBP: "£", JPY: "¥" }' in script
    assert "Date.parse(b.as_of)" in script and "m.currency" in script
