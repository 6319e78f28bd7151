"""The dashboard page at `/`, with the current figures written into its HTML.

Why: the page's script fills the figures in only after its first fetch, so a page served
bare paints "connecting..." and dashes (a screenshot, a slow link, a browser without
scripts see nothing). The server already holds what `/metrics` and `/alerts` answer, so it
writes them into the served HTML; the script then keeps them fresh by polling. Both write
numbers the same way (money with its currency, counts grouped, percentages with 2
decimals), so the first poll changes no text that did not change.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

DASH: Final = "–"
SYMBOLS: Final = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥"}
"""The currencies written with a symbol; any other is written as its code (`CHF 1,000.00`).
dashboard.js holds the same table."""
MONEY: Final = ("mrr", "arr", "arpa")
COUNTS: Final = (
    "paying_customers", "active_subscriptions", "seats", "dau", "wau", "mau", "nps_responses",
)  # fmt: skip
PERCENTS: Final = (
    "customer_churn_rate", "gross_mrr_churn_rate", "net_mrr_churn_rate",
    "retention_rate", "nrr", "grr",
)  # fmt: skip
UNITS: Final = {"mrr": "/ month", "arr": "/ year"}
ALERTS_SHOWN: Final = 20


def money(value: object, currency: str, *, signed: bool = False) -> str:
    """`$49,560.51`, `-€170.64`, `+$9.00` (signed), `CHF 1,000.00`; a dash for null."""
    number = _decimal(value)
    if number is None:
        return DASH
    sign = "-" if number < 0 else "+" if signed and number > 0 else ""
    symbol = SYMBOLS.get(currency, f"{currency} ")
    return f"{sign}{symbol}{abs(number):,.2f}"


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return None
    return number if number.is_finite() else None


def figure_texts(metrics: Mapping[str, object]) -> dict[str, str]:
    """Element id -> the text dashboard.js writes there for these figures."""
    currency = str(metrics.get("currency") or "USD")
    texts = {name: money(metrics.get(name), currency) for name in MONEY}
    texts["net_new_mrr"] = money(metrics.get("net_new_mrr"), currency, signed=True)
    for name in COUNTS:
        number = _decimal(metrics.get(name))
        texts[name] = DASH if number is None else f"{int(number):,}"
    for name in PERCENTS:
        number = _decimal(metrics.get(name))
        texts[name] = DASH if number is None else f"{number:.2f} %"
    sticky = _decimal(metrics.get("stickiness"))
    texts["stickiness"] = DASH if sticky is None else f"{sticky * 100:.1f} %"
    nps, margin = _decimal(metrics.get("nps")), _decimal(metrics.get("nps_margin"))
    texts["nps"] = (
        DASH if nps is None else f"{nps:.1f}" + ("" if margin is None else f" ± {margin:.1f}")
    )
    texts["as-of"] = str(metrics.get("as_of") or DASH)
    texts["window-day"] = str(metrics.get("day") or DASH)
    texts["currency"] = currency
    return texts


def newest_first(alerts: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Alerts by their own time (`as_of`), newest first; equal times newest-arrived first.
    Stream order is arrival order, which a late event or a global rule does not keep."""
    arrived = list(alerts)[::-1]
    return sorted(arrived, key=lambda alert: _instant(alert.get("as_of")), reverse=True)


def _instant(text: object) -> float:
    try:
        return datetime.fromisoformat(str(text)).timestamp()
    except ValueError:
        return float("-inf")


def _alert_items(alerts: Iterable[Mapping[str, Any]]) -> str:
    items = []
    for alert in newest_first(alerts)[:ALERTS_SHOWN]:
        critical = ' class="critical"' if alert.get("severity") == "critical" else ""
        rule = html.escape(str(alert.get("rule")))
        rest = " · ".join(
            html.escape(str(alert.get(key))) for key in ("account_id", "as_of", "message")
        )
        items.append(f"<li><span{critical}>{rule}</span> · {rest}</li>")
    return "".join(items) or '<li class="muted">none</li>'


def render_page(
    template: str, metrics: Mapping[str, object] | None, alerts: Iterable[Mapping[str, Any]]
) -> str:
    """`template` (static/index.html) with `metrics` and `alerts` written in; the template
    as it is, but for its status line, when there are no figures yet."""
    if metrics is None:
        return _set(template, "status", "no figures yet")
    page = template
    for element, text in figure_texts(metrics).items():
        page = _set(page, element, text, UNITS.get(element) if text != DASH else None)
    page = _set(page, "status", "as served; updating…")
    return re.sub(
        r'(<ul id="alerts"[^>]*>).*?(</ul>)',
        lambda m: m.group(1) + _alert_items(alerts) + m.group(2),
        page,
        count=1,
        flags=re.DOTALL,
    )


def _set(page: str, element: str, text: str, unit: str | None = None) -> str:
    """The content of the element with id `element` (a span holding no other element)."""
    shown = html.escape(text) + ("" if unit is None else f'<span class="unit">{unit}</span>')
    pattern = rf'(<span[^>]* id="{re.escape(element)}"[^>]*>)[^<]*(</span>)'
    return re.sub(pattern, lambda m: m.group(1) + shown + m.group(2), page, count=1)
