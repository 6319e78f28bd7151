"""`GET /months` and `GET /cohorts` as plain functions: ranges, metrics, CSV, 400s, 503s."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agents.serving.api import ApiError
from agents.serving.tables import cohorts_body, months_body, table_rows, wants_csv
from models.csvout import csv_text
from models.outputs import CohortRow, MonthRow


def _month(month: str, end: str) -> MonthRow:
    zero = Decimal(0)
    return MonthRow(
        month=month, currency="USD", mrr_at_start=zero, new_mrr=Decimal(end), new_customers=1,
        expansion_mrr=zero, expansion_count=0, contraction_mrr=zero, contraction_count=0,
        churned_mrr=zero, churned_customers=0, reactivation_mrr=zero, reactivated_customers=0,
        net_new_mrr=Decimal(end), mrr_at_end=Decimal(end), customers_at_start=0,
        customers_at_end=1,
    )  # fmt: skip


MONTHS = table_rows([_month("2025-12", "10.50"), _month("2026-01", "20"), _month("2026-02", "30")])
COHORTS = table_rows([
    CohortRow(cohort="2026-01", month="2026-01", months_since=0, currency="USD", customers=4,
              customers_pct=Decimal(100), mrr=Decimal("400.00"), mrr_pct=Decimal(100)),
    CohortRow(cohort="2026-01", month="2026-02", months_since=1, currency="USD", customers=3,
              customers_pct=Decimal(75), mrr=Decimal("310.00"), mrr_pct=Decimal("77.50")),
])  # fmt: skip


@pytest.mark.parametrize(
    ("query", "months"),
    [
        ({}, ["2025-12", "2026-01", "2026-02"]),
        ({"from": "2026-01"}, ["2026-01", "2026-02"]),
        ({"to": "2026-01"}, ["2025-12", "2026-01"]),
        ({"from": "2026-01", "to": "2026-01"}, ["2026-01"]),
        ({"from": "2027-01"}, []),
    ],
)
def test_months_in_the_asked_range(query: dict[str, str], months: list[str]) -> None:
    rows = months_body(MONTHS.decode(), query)["months"]
    assert [r["month"] for r in rows] == months
    assert all(isinstance(r["mrr_at_end"], Decimal) for r in rows)


def test_months_keep_exact_money() -> None:
    (row,) = months_body(MONTHS.decode(), {"to": "2025-12"})["months"]
    assert row["mrr_at_end"] == Decimal("10.50") and row["currency"] == "USD"


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-13"},
        {"from": "26-01"},
        {"to": "2026-1"},
        {"from": "2026-02", "to": "2026-01"},
    ],
)
def test_bad_month_ranges_are_400s(query: dict[str, str]) -> None:
    with pytest.raises(ApiError) as caught:
        months_body(MONTHS.decode(), query)
    assert caught.value.status == 400


@pytest.mark.parametrize(
    ("metric", "values", "pcts"),
    [
        (None, [4, 3], [Decimal(100), Decimal(75)]),
        ("customers", [4, 3], [Decimal(100), Decimal(75)]),
        ("mrr", [Decimal("400.00"), Decimal("310.00")], [Decimal(100), Decimal("77.50")]),
    ],
)
def test_cohorts_by_metric(metric: str | None, values: list[object], pcts: list[object]) -> None:
    body = cohorts_body(COHORTS.decode(), {} if metric is None else {"metric": metric})
    assert body["metric"] == (metric or "customers")
    assert [r["value"] for r in body["cohorts"]] == values
    assert [r["pct"] for r in body["cohorts"]] == pcts
    assert [r["months_since"] for r in body["cohorts"]] == [0, 1]


def test_an_unknown_cohort_metric_is_a_400() -> None:
    with pytest.raises(ApiError) as caught:
        cohorts_body(COHORTS.decode(), {"metric": "nps"})
    assert caught.value.status == 400


@pytest.mark.parametrize("text", [None, "not json", '{"a": 1}', '[{"month": "2026-01"}]'])
def test_missing_or_unreadable_tables_are_503s(text: str | None) -> None:
    for body in (months_body, cohorts_body):
        with pytest.raises(ApiError) as caught:
            body(text, {})
        assert caught.value.status == 503


@pytest.mark.parametrize(
    ("query", "accept", "csv"),
    [
        ({}, None, False),
        ({}, "text/csv", True),
        ({}, "text/csv;q=0.9, */*", True),
        ({}, "application/json, text/csv", False),
        ({"format": "csv"}, "application/json", True),
        ({"format": "json"}, "text/csv", False),
    ],
)
def test_csv_when_asked(query: dict[str, str], accept: str | None, csv: bool) -> None:
    assert wants_csv(query, accept) is csv


def test_an_unknown_format_is_a_400() -> None:
    with pytest.raises(ApiError) as caught:
        wants_csv({"format": "xml"}, None)
    assert caught.value.status == 400


def test_csv_text_has_a_header_exact_numbers_and_empty_nulls() -> None:
    rows: list[dict[str, object]] = [
        {"a": Decimal("1.50"), "b": None, "c": 3},
        {"a": Decimal("2E+1"), "b": "x,y"},
    ]
    assert csv_text(rows, ["a", "b", "c"]).splitlines() == ["a,b,c", "1.50,,3", '20,"x,y",']
