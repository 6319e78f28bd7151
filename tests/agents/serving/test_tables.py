"""`GET /months` and `GET /cohorts` as plain functions: ranges, metrics, the month-end join
with the series hashes, CSV, 400s, 503s."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import orjson
import pytest

from agents.serving.api import ApiError
from agents.serving.tables import (
    MONTH_COLUMNS,
    cohorts_body,
    months_body,
    months_in_range,
    series_at,
    stream_day,
    table_rows,
    wants_csv,
)
from models.csvout import csv_text
from models.jsonout import dumps
from models.tables import CohortRow, MonthRow
from state.figures import FIGURES
from state.history import SERIES_FIGURES
from state.month_tables import month_csv_rows, month_end_days, with_month_ends


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
    rows = months_body(months_in_range(MONTHS.decode(), query))["months"]
    assert [r["month"] for r in rows] == months
    assert all(isinstance(r["mrr_at_end"], Decimal) for r in rows)


def test_months_keep_exact_money() -> None:
    (row,) = months_body(months_in_range(MONTHS.decode(), {"to": "2025-12"}))["months"]
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
        months_in_range(MONTHS.decode(), query)
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
    for body in (months_in_range, cohorts_body):
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


def _hmget(hashes: dict[str, dict[str, str]], days: list[date]) -> dict[str, list[str | None]]:
    """What the pipeline of HMGETs answers: per figure, the field of each day or None."""
    return {
        name: [hashes.get(name, {}).get(day.isoformat()) for day in days] for name in SERIES_FIGURES
    }


SERIES = {  # the series hashes: day -> value text ("" is a null); no day before 2026-01-31
    "mrr": {"2026-01-31": "20.00", "2026-02-27": "25.00", "2026-02-28": "30.00"},
    "paying_customers": {"2026-01-31": "1", "2026-02-28": "1"},
    "nps": {"2026-01-31": "", "2026-02-28": "-12.5"},
}


def test_the_stored_months_have_no_month_ends_and_a_request_joins_the_series() -> None:
    stored = orjson.loads(MONTHS)
    assert all("at_end" not in row for row in stored) and len(stored) == 3
    rows = months_in_range(MONTHS.decode(), {})
    assert all(row.at_end == {} for row in rows)
    today = stream_day("2026-02-28")
    days = month_end_days(rows, today)
    assert days == [date(2025, 12, 31), date(2026, 1, 31), date(2026, 2, 28)]
    joined = with_month_ends(rows, series_at(days, _hmget(SERIES, days)), today)
    body = months_body(joined)["months"]
    assert [list(r["at_end"]) for r in body] == [list(FIGURES)] * 3
    dec, jan, feb = (r["at_end"] for r in body)
    assert set(dec.values()) == {None}  # before the kept history
    assert (jan["mrr"], jan["paying_customers"], jan["nps"], jan["dau"]) == (
        Decimal("20.00"), 1, None, None,
    )  # fmt: skip
    assert (feb["mrr"], feb["paying_customers"], feb["nps"]) == (Decimal(30), 1, Decimal("-12.5"))
    assert dumps(feb["mrr"]) == "30.00"  # exact money, as written
    table = list(csv.DictReader(io.StringIO(csv_text(month_csv_rows(joined), MONTH_COLUMNS))))
    assert list(table[0]) == list(MONTH_COLUMNS) and MONTH_COLUMNS[-1] == "end_dead_letters"
    assert [(r["month"], r["end_mrr"], r["end_nps"]) for r in table] == [
        ("2025-12", "", ""), ("2026-01", "20.00", ""), ("2026-02", "30.00", "-12.5"),
    ]  # fmt: skip
    assert table_rows(joined) == MONTHS  # the join is never stored


@pytest.mark.parametrize(
    ("day", "ends"),
    [
        ("2026-02-27", ["2025-12-31", "2026-01-31", "2026-02-27"]),  # the month of D: D
        ("2026-04-02", ["2025-12-31", "2026-01-31", "2026-02-28"]),
        (None, ["2025-12-31", "2026-01-31", "2026-02-28"]),  # no snapshot day: calendar ends
        ("", ["2025-12-31", "2026-01-31", "2026-02-28"]),
        ("garbage", ["2025-12-31", "2026-01-31", "2026-02-28"]),
        ("2026-01-15", ["2025-12-31", "2026-01-15"]),  # February is after D: nothing to read
    ],
)
def test_the_days_read_follow_the_snapshots_day(day: str | None, ends: list[str]) -> None:
    rows = months_in_range(MONTHS.decode(), {})
    assert month_end_days(rows, stream_day(day)) == [date.fromisoformat(d) for d in ends]


def test_the_current_month_reads_the_snapshots_day_from_the_series() -> None:
    rows = months_in_range(MONTHS.decode(), {"from": "2026-02"})
    today = stream_day("2026-02-27")
    days = month_end_days(rows, today)
    (feb,) = with_month_ends(rows, series_at(days, _hmget(SERIES, days)), today)
    assert feb.at_end["mrr"] == Decimal("25.00") and feb.at_end["paying_customers"] is None


@pytest.mark.parametrize(("name", "text"), [("mrr", "lots"), ("paying_customers", "1.5")])
def test_unreadable_series_text_is_a_503(name: str, text: str) -> None:
    days = [date(2026, 1, 31)]
    with pytest.raises(ApiError) as caught:
        series_at(days, _hmget({name: {"2026-01-31": text}}, days))
    assert caught.value.status == 503


def test_no_days_no_reads() -> None:
    assert series_at([], {}) == {}
