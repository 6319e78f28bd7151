"""Past days of the series: exactly what the figures were at the end of each day."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from state.clock import US_PER_DAY
from state.config import EngineConfig
from state.engine import Engine
from state.figures import FIGURES, Windows
from state.history import RECOMPUTED, SeriesBook, daily_values, past_figures, rewound
from tests.support.streams import RATES, feed, random_stream

SETTINGS = EngineConfig(fx_rates=RATES)


def _end_of_day_figures(seed: int, length: int) -> tuple[Engine, dict[int, dict[str, object]]]:
    """The engine after an in-order stream, and every figure at each day's end."""
    engine = Engine(SETTINGS)
    ends: dict[int, dict[str, object]] = {}
    for topic, value in random_stream(seed, length, in_order=True):
        day = int(datetime.fromisoformat(value["occurred_at"]).timestamp()) // 86_400
        current = engine.day
        if current is not None and day > current:
            engine.advance_to((current + 1) * US_PER_DAY - 1)
            ends[current] = dict(engine.figures())
        feed(engine, [(topic, value)])
    return engine, ends


def test_rewound_partials_give_each_past_day_its_end_of_day_figures() -> None:
    engine, ends = _end_of_day_figures(5, 3000)
    today = engine.day
    assert today is not None
    parts = [engine.partial()]
    checked = 0
    for day in range(today - SETTINGS.lateness_days, today):
        if day in ends:
            assert past_figures(parts, day, Windows()) == ends[day], day
            checked += 1
    assert checked >= 20
    moved = {ends[d]["mrr"] for d in ends if d >= today - SETTINGS.lateness_days}
    assert len(moved) > 3  # MRR really moved over those days: the rewind is exercised


def test_rewinding_to_today_changes_nothing_and_to_a_past_day_moves_mrr() -> None:
    engine, _ = _end_of_day_figures(6, 1500)
    part = engine.partial()
    assert engine.day is not None
    same = rewound(part, engine.day)
    assert (same.mrr, same.paying) == (part.mrr, part.paying)
    back = rewound(part, engine.day - 10)
    assert back.movement_days is part.movement_days  # a view, not a copy of the buckets
    assert back.mrr != part.mrr


def test_daily_values_today_is_the_snapshot_and_past_days_every_figure() -> None:
    engine, _ = _end_of_day_figures(7, 1200)
    today = engine.day
    assert today is not None
    current = engine.figures()
    days = daily_values([engine.partial()], today, current, Windows(), 5)
    assert sorted(days) == list(range(today - 5, today + 1))
    assert days[today] == {name: current[name] for name in FIGURES}
    assert set(days[today - 1]) == set(RECOMPUTED) == set(FIGURES)


def test_series_book_restates_only_days_reported_closed() -> None:
    book = SeriesBook()
    first = book.diff({20_000: {"dau": 3}, 20_001: {"dau": 4}, 20_002: {"dau": 5}})
    assert book.restated(first) == []
    book.mark(first, closed_before=20_001)  # only 20,000 was closed by every partition
    later = book.diff({20_000: {"dau": 6}, 20_001: {"dau": 7}, 20_002: {"dau": 5}})
    assert book.restated(later) == [("dau", 20_000, "3", "6")]
    book.mark(later, closed_before=20_002)
    assert book.restated(book.diff({20_001: {"dau": 8}})) == [("dau", 20_001, "7", "8")]
    book.forget_before(20_001)
    assert book.closed == {("dau", 20_001)}


def test_series_book_writes_only_what_moved() -> None:
    book = SeriesBook()
    first = book.diff({20_000: {"mrr": Decimal("10.50"), "dau": 3}, 20_001: {"mrr": None}})
    assert first == {"mrr": {"2024-10-04": "10.50", "2024-10-05": ""}, "dau": {"2024-10-04": "3"}}
    book.mark(first)
    assert book.diff({20_000: {"mrr": Decimal("10.50"), "dau": 3}}) == {}
    assert book.diff({20_001: {"mrr": Decimal("1.00")}}) == {"mrr": {"2024-10-05": "1.00"}}
    book.forget_before(20_001)
    assert book.diff({20_000: {"dau": 3}}) == {"dau": {"2024-10-04": "3"}}
