"""`GET /metrics/{name}/series` with a range and a granularity: periods, ends, 400s."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from agents.serving.api import ApiError
from agents.serving.series_query import series_query_body

LAST = date(2026, 3, 4)
RAW = {(date(2026, 1, 1) + timedelta(days=i)).isoformat(): f"{i}.50" for i in range(63)}


def _periods(query: dict[str, str]) -> list[tuple[object, object, object]]:
    body = series_query_body("mrr", RAW, LAST, query)
    periods = body["periods"]
    assert isinstance(periods, list)
    return [(p["period"], p["day"], p["value"]) for p in periods]


def test_without_a_range_the_last_days_as_before() -> None:
    body = series_query_body("mrr", RAW, LAST, {"days": "3"})
    assert body == {
        "metric": "mrr",
        "days": [
            {"day": "2026-03-02", "value": Decimal("60.50")},
            {"day": "2026-03-03", "value": Decimal("61.50")},
            {"day": "2026-03-04", "value": Decimal("62.50")},
        ],
    }


def test_days_in_a_range() -> None:
    assert _periods({"from": "2026-01-30", "to": "2026-02-01"}) == [
        ("2026-01-30", "2026-01-30", Decimal("29.50")),
        ("2026-01-31", "2026-01-31", Decimal("30.50")),
        ("2026-02-01", "2026-02-01", Decimal("31.50")),
    ]


def test_months_by_their_last_day_in_the_range() -> None:
    assert _periods({"from": "2026-01-15", "granularity": "month"}) == [
        ("2026-01", "2026-01-31", Decimal("30.50")),
        ("2026-02", "2026-02-28", Decimal("58.50")),
        ("2026-03", "2026-03-04", Decimal("62.50")),
    ]


def test_iso_weeks_end_on_sunday() -> None:
    got = _periods({"from": "2026-01-01", "to": "2026-01-12", "granularity": "week"})
    assert got == [
        ("2026-W01", "2026-01-04", Decimal("3.50")),
        ("2026-W02", "2026-01-11", Decimal("10.50")),
        ("2026-W03", "2026-01-12", Decimal("11.50")),
    ]


def test_a_day_without_a_value_is_null() -> None:
    assert _periods({"from": "2025-12-31", "to": "2025-12-31"}) == [
        ("2025-12-31", "2025-12-31", None)
    ]


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-13-01"},
        {"to": "yesterday"},
        {"from": "2026-02-02", "to": "2026-02-01"},
        {"granularity": "year"},
        {"from": "2000-01-01", "to": "2026-01-01"},
        {"from": "2026-01-01", "days": "0"},
    ],
)
def test_bad_queries_are_400s(query: dict[str, str]) -> None:
    with pytest.raises(ApiError) as caught:
        series_query_body("mrr", RAW, LAST, query)
    assert caught.value.status == 400


def test_an_unknown_metric_is_a_404() -> None:
    with pytest.raises(ApiError) as caught:
        series_query_body("no_such", RAW, LAST, {"granularity": "month"})
    assert caught.value.status == 404
