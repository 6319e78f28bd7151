"""The terminal dashboard: every section, readable numbers, 80 columns, colours only on request."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from agents.cli.dashboard import render, visible_len
from state.config import EngineConfig
from state.engine import Engine

ANSI = re.compile(r"\x1b\[[0-9;]*m")

FULL: dict[str, object] = {
    "as_of": "2026-06-29T23:48:37Z",
    "day": "2026-06-29",
    "mrr": Decimal("63169.70"),
    "arr": Decimal("758036.40"),
    "paying_customers": 270,
    "arpa": Decimal("233.96"),
    "new_mrr": Decimal("12189.48"),
    "expansion_mrr": Decimal("3555.93"),
    "contraction_mrr": Decimal("291.18"),
    "churned_mrr": Decimal("366.10"),
    "reactivation_mrr": Decimal("81.00"),
    "net_new_mrr": Decimal("15169.13"),
    "new_customers": 52,
    "churned_customers": 4,
    "reactivated_customers": 1,
    "mrr_at_start": Decimal("48000.57"),
    "customers_at_start": 221,
    "customer_churn_rate": Decimal("1.81"),
    "gross_mrr_churn_rate": Decimal("1.37"),
    "net_mrr_churn_rate": Decimal("-6.21"),
    "grr": Decimal("98.63"),
    "nrr": Decimal("105.21"),
    "retention_rate": Decimal("98.64"),
    "clv": Decimal("12926.39"),
    "dau": 360,
    "wau": 1082,
    "mau": 1484,
    "stickiness": Decimal("0.2426"),
    "nps": Decimal("20.2"),
    "nps_responses": 470,
    "promoters": 190,
    "passives": 185,
    "detractors": 95,
    "nps_margin": Decimal("6.8"),
    "signups": 78,
    "events": 32723,
    "duplicates": 184,
    "dead_letters": 167,
}

EMPTY: dict[str, object] = {
    name: (
        None
        if name in ("as_of", "day", "arpa", "nps", "nps_margin", "clv")
        or name.endswith("_rate")
        or name in ("grr", "nrr")
        else Decimal("0.00")
        if isinstance(value, Decimal)
        else 0
    )
    for name, value in FULL.items()
}


def _fits(text: str) -> None:
    for line in text.splitlines():
        assert visible_len(line) <= 80, line


def test_a_full_snapshot_shows_every_section_with_formatted_figures() -> None:
    text = render(FULL)
    _fits(text)
    assert "\x1b" not in text
    for expected in (
        "day 2026-06-29",
        "as of 2026-06-29T23:48:37Z",
        "MRR $63,169.70",
        "ARR $758,036.40",
        "Paying customers 270",
        "ARPA $233.96",
        "+$12,189.48",
        "+$3,555.93",
        "+$81.00",
        "-$291.18",
        "-$366.10",
        "+$15,169.13",
        "52 customers",
        "1 customer",
        "$48,000.57 at start",
        "1.81 %",
        "-6.21 %",
        "105.21 %",
        "$12,926.39",
        "1,082",
        "1,484",
        "0.2426",
        "+20.2 ± 6.8",
        "32,723 events",
        "184 duplicates",
        "167 dead letters",
    ):
        assert expected in text, expected
    for title in ("MRR movements", "Churn & retention", "Engagement", "NPS", "Stream"):
        assert title in text


def test_rows_pair_labels_with_their_values() -> None:
    lines = render(FULL).splitlines()

    def row(label: str) -> str:
        pattern = rf"(?<!\w){re.escape(label)}(?!\w)"
        return next(line for line in lines if re.search(pattern, line))

    assert "1.81 %" in row("Customer churn")
    assert "98.63 %" in row("GRR")
    assert "98.64 %" in row("Retention (CRR)")
    assert "190" in row("Promoters") and "40.4 %" in row("Promoters")
    assert "95" in row("Detractors") and "20.2 %" in row("Detractors")
    assert row("Net new").count("+$15,169.13") == 1


def test_movement_bars_share_one_scale() -> None:
    lines = render(FULL).splitlines()

    def bar(label: str) -> int:
        line = next(line for line in lines if f"  {label} " in line)
        return len(re.sub(r"[^█▏▎▍▌▋▊▉]", "", line))

    bars = {
        label: bar(label)
        for label in ("New", "Expansion", "Reactivation", "Contraction", "Churned")
    }
    assert bars["New"] > bars["Expansion"] > bars["Churned"] >= bars["Contraction"]
    assert bars["Reactivation"] >= 1, "a non-zero movement always shows a sliver"


def test_an_empty_snapshot_shows_dashes_not_zeros_for_unknowns() -> None:
    text = render(EMPTY)
    _fits(text)
    assert "no events yet" in text
    assert "ARPA —" in text
    assert "Customer churn" in text and "NPS  —" in text
    assert text.count("—") >= 9  # arpa, 6 rates, clv, nps
    assert "$0.00" in text and "+$0.00" not in text, "zero is unsigned"


def test_missing_figures_and_a_fresh_engine_render() -> None:
    _fits(render({}))
    _fits(render(Engine(EngineConfig()).snapshot()))


def test_colour_only_on_request_and_it_adds_nothing_visible() -> None:
    plain, coloured = render(FULL), render(FULL, color=True)
    assert "\x1b[" in coloured
    assert ANSI.sub("", coloured) == plain
    _fits(coloured)


@pytest.mark.parametrize(("currency", "shown"), [("EUR", "€63,169.70"), ("CHF", "CHF 63,169.70")])
def test_reporting_currency(currency: str, shown: str) -> None:
    assert shown in render(FULL, reporting_currency=currency)


def test_window_label() -> None:
    assert "last 30 days to 2026-06-29" in render(FULL, window_days=30)


def test_figures_read_back_from_json_render_alike() -> None:
    as_json = {
        name: (str(value) if isinstance(value, Decimal) and name.endswith("_mrr") else value)
        for name, value in FULL.items()
    }
    as_json["mrr"] = float(Decimal("63169.70"))
    assert render(as_json) == render(FULL)


def test_huge_and_negative_figures_still_fit() -> None:
    huge = dict(FULL)
    for name in ("mrr", "new_mrr", "churned_mrr", "mrr_at_start", "clv"):
        huge[name] = Decimal("123456789012.34")
    huge["arr"] = Decimal("1481481468148.08")
    huge["net_new_mrr"] = Decimal("-98765432109.87")
    huge["events"] = 12_345_678_901
    text = render(huge, color=True)
    _fits(text)
    assert "-$98,765,432,109.87" in ANSI.sub("", text)


def test_money_is_in_the_snapshots_own_currency() -> None:
    """The snapshot names its currency: the dashboard shows that one, in the header too."""
    text = render({**FULL, "currency": "EUR"})
    assert "MRR €63,169.70" in text and "$" not in text
    assert "money in EUR" in text.splitlines()[0]
    assert "money in USD" in render(FULL).splitlines()[0]


def test_movements_give_counts_where_the_snapshot_has_them_and_say_so_where_not() -> None:
    lines = render(FULL).splitlines()

    def row(label: str) -> str:
        return next(line for line in lines if line.strip().startswith(label))

    for label in ("New", "Reactivation", "Churned"):
        assert re.search(r"\d customers?$", row(label)), row(label)
    for label in ("Expansion", "Contraction"):
        assert row(label).endswith("amount only"), row(label)
        assert "customer" not in row(label)


def test_stickiness_is_printed_once() -> None:
    text = render(FULL)
    assert text.count("0.2426") == 1
    assert "24.3 %" not in text and "24.26 %" not in text
