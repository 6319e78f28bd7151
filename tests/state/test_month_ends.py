"""The months table joined with the history: every figure at each month's end day (its last
day; the month of D at D), null where the history lacks that day or figure; and the CSV
form that flattens the month-end figures into `end_{figure}` columns."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from models.tables import MonthRow
from state.clock import date_to_day
from state.figures import FIGURES, Value
from state.month_tables import (
    MONTH_CSV_COLUMNS,
    month_csv_rows,
    month_end_day,
    month_end_days,
    month_rows,
    with_month_ends,
)
from state.months import MonthMovements, month_of

D = date.fromisoformat


def _months(first: str, last: str) -> list[MonthRow]:
    """The table from `first` to `last`: one new account of 100 in `first`, nothing after."""
    start = month_of(date_to_day(D(f"{first}-01")))
    book = {start: MonthMovements(new=Decimal(100), new_count=1)}
    return month_rows([book], month_of(date_to_day(D(f"{last}-01"))), "USD")


def _figures(mrr: str, dau: int) -> dict[str, Value]:
    """A history row: every figure null but `mrr`, `paying_customers` and `dau`."""
    row: dict[str, Value] = dict.fromkeys(FIGURES)
    return row | {"mrr": Decimal(mrr), "paying_customers": 1, "dau": dau}


@pytest.mark.parametrize(
    ("month", "today", "end"),
    [
        ("2026-01", "2026-03-10", "2026-01-31"),  # a finished month: its last day
        ("2026-02", "2026-03-10", "2026-02-28"),
        ("2024-02", "2024-05-01", "2024-02-29"),  # a leap year's February
        ("2025-12", "2026-01-05", "2025-12-31"),  # across the year
        ("2026-03", "2026-03-10", "2026-03-10"),  # the month of D: D
        ("2026-03", "2026-03-31", "2026-03-31"),  # D is its last day
        ("2026-03", "2026-03-01", "2026-03-01"),  # D is its first day
        ("2026-02", "2026-03-01", "2026-02-28"),  # the day before D
        ("2026-04", "2026-03-10", None),  # after D: no end yet
        ("2027-03", "2026-03-10", None),  # same month number, a later year
        ("2026-03", None, "2026-03-31"),  # no D known: the calendar's last day
    ],
)
def test_the_month_end_day(month: str, today: str | None, end: str | None) -> None:
    got = month_end_day(month, None if today is None else D(today))
    assert got == (None if end is None else D(end))


@pytest.mark.parametrize(
    ("first", "last", "today", "days"),
    [
        ("2026-01", "2026-03", "2026-03-10", ["2026-01-31", "2026-02-28", "2026-03-10"]),
        ("2026-03", "2026-03", "2026-03-10", ["2026-03-10"]),
        ("2026-02", "2026-04", "2026-03-10", ["2026-02-28", "2026-03-10"]),  # April: none
    ],
)
def test_the_days_a_join_reads(first: str, last: str, today: str, days: list[str]) -> None:
    assert month_end_days(_months(first, last), D(today)) == [D(d) for d in days]


def test_no_months_no_days() -> None:
    assert month_end_days([], D("2026-03-10")) == []
    assert with_month_ends([], {D("2026-03-10"): _figures("1", 1)}, D("2026-03-10")) == []


JAN, FEB, TODAY = D("2026-01-31"), D("2026-02-28"), D("2026-03-10")


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        (  # every end day kept: each month its own day's figures
            {JAN: _figures("100", 3), FEB: _figures("150", 4), TODAY: _figures("170", 5)},
            [("100", 3), ("150", 4), ("170", 5)],
        ),
        (  # other days of the history are not month ends
            {D("2026-01-30"): _figures("90", 1), FEB: _figures("150", 4), TODAY: _figures("1", 2)},
            [None, ("150", 4), ("1", 2)],
        ),
        (  # the history begins after January's end (before the kept history): nulls
            {FEB: _figures("150", 4), TODAY: _figures("170", 5)},
            [None, ("150", 4), ("170", 5)],
        ),
        ({}, [None, None, None]),  # no history at all
    ],
)
def test_each_month_takes_the_figures_of_its_end_day(
    history: dict[date, dict[str, Value]], expected: list[tuple[str, int] | None]
) -> None:
    rows = _months("2026-01", "2026-03")
    joined = with_month_ends(rows, history, TODAY)
    for row, joined_row, want in zip(rows, joined, expected, strict=True):
        assert list(joined_row.at_end) == list(FIGURES)
        assert joined_row.model_dump(exclude={"at_end"}) == row.model_dump(exclude={"at_end"})
        if want is None:
            assert set(joined_row.at_end.values()) == {None}, row.month
        else:
            mrr, dau = want
            got = joined_row.at_end
            assert (got["mrr"], got["paying_customers"], got["dau"]) == (Decimal(mrr), 1, dau)
            assert got["nps"] is None and got["arpa"] is None
    assert all(row.at_end == {} for row in rows)  # the rows given are left as they were


def test_a_figure_the_history_lacks_is_null_and_only_figures_are_taken() -> None:
    (row,) = _months("2026-03", "2026-03")
    history: dict[date, dict[str, Value]] = {TODAY: {"mrr": Decimal("100.00"), "dau": 7}}
    (joined,) = with_month_ends([row], history, TODAY)
    assert joined.at_end["mrr"] == Decimal("100.00") and joined.at_end["dau"] == 7
    assert [n for n, v in joined.at_end.items() if v is not None] == ["mrr", "dau"]
    (again,) = with_month_ends([joined], {}, TODAY)  # a second join replaces the first
    assert set(again.at_end.values()) == {None}


def test_a_month_after_the_stream_day_has_no_end_even_with_history_that_day() -> None:
    rows = _months("2026-03", "2026-04")
    history = {D("2026-04-30"): _figures("1", 1), TODAY: _figures("2", 2)}
    march, april = with_month_ends(rows, history, TODAY)
    assert march.at_end["mrr"] == Decimal(2)
    assert set(april.at_end.values()) == {None}


def test_the_csv_form_flattens_the_month_ends_after_the_rows_fields() -> None:
    fields = [name for name in MonthRow.model_fields if name != "at_end"]
    assert list(MONTH_CSV_COLUMNS) == fields + [f"end_{name}" for name in FIGURES]
    rows = with_month_ends(_months("2026-02", "2026-03"), {TODAY: _figures("170", 5)}, TODAY)
    feb, mar = month_csv_rows(rows)
    assert list(mar) == list(MONTH_CSV_COLUMNS)
    assert (mar["month"], mar["mrr_at_end"], mar["end_mrr"], mar["end_dau"]) == (
        "2026-03", Decimal("100.00"), Decimal(170), 5,
    )  # fmt: skip
    assert mar["end_nps"] is None and feb["end_mrr"] is None
    (unjoined,) = month_csv_rows(_months("2026-03", "2026-03"))
    assert list(unjoined) == list(MONTH_CSV_COLUMNS)
    assert all(unjoined[f"end_{name}"] is None for name in FIGURES)
