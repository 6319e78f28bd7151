"""Final day rows from partitions to the aggregate: each sent once a session, added up once
every partition has sent a day (the worker's series before the lateness)."""

from __future__ import annotations

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from state.day_rows import DaySides, daily_sides
from state.final_days import FinalDays, FinalReport, FinalSender
from state.tally import Tally


def _row(signups: int, events: int = 0) -> DaySides:
    return DaySides(signups=signups, tally=Tally(events=events))


def _figures(days: list[tuple[int, DaySides]]) -> list[tuple[int, list[object]]]:
    return [(day, sides.to_list()) for day, sides in days]


ROWS = {3: _row(1), 5: _row(2), 9: _row(4)}


def test_a_sender_waits_for_the_aggregate_to_name_its_session() -> None:
    assert FinalSender().reports(None, ROWS, 9, 10) == []


def test_a_sender_sends_every_row_once_in_a_session_then_only_new_ones() -> None:
    sender = FinalSender()
    (first,) = sender.reports("s1", ROWS, 6, 10)
    assert (first.session, first.through, sorted(first.rows)) == ("s1", 6, [3, 5])
    assert sender.reports("s1", ROWS, 6, 10) == []  # nothing new
    (second,) = sender.reports("s1", ROWS, 9, 10)
    assert (second.through, sorted(second.rows)) == (9, [9])
    (quiet,) = sender.reports("s1", ROWS, 12, 10)  # days pass without a row
    assert (quiet.through, quiet.rows) == (12, {})


def test_a_new_session_gets_every_row_again() -> None:
    sender = FinalSender()
    sender.reports("s1", ROWS, 9, 10)
    (again,) = sender.reports("s2", ROWS, 9, 10)
    assert (again.session, sorted(again.rows)) == ("s2", [3, 5, 9])


def test_reports_are_chunked_and_each_says_through_which_day_all_is_sent() -> None:
    sender = FinalSender()
    reports = sender.reports("s", ROWS, 11, 2)
    assert [(r.through, sorted(r.rows)) for r in reports] == [(5, [3, 5]), (11, [9])]


def test_a_partition_without_a_day_sends_nothing() -> None:
    assert FinalSender().reports("s", {}, None, 10) == []


def test_a_report_survives_json() -> None:
    report = FinalReport("s", 9, ROWS)
    back = FinalReport.from_json(orjson.loads(orjson.dumps(report.to_json())))
    assert (back.session, back.through) == ("s", 9)
    assert {d: r.to_list() for d, r in back.rows.items()} == {
        d: r.to_list() for d, r in ROWS.items()
    }


def test_days_are_due_only_once_every_partition_has_sent_them() -> None:
    days = FinalDays(2)
    days.take(0, FinalReport(days.session, 6, {3: _row(1), 5: _row(2)}))
    assert days.due(100) == []  # partition 1 has said nothing
    days.take(1, FinalReport(days.session, 4, {4: _row(10)}))
    assert [(d, s.signups) for d, s in days.due(100)] == [(3, 1), (4, 11)]
    assert days.due(100) == []  # handed out once
    days.take(1, FinalReport(days.session, 8, {}))
    # day 5: partition 0's row of 5, partition 1's row of 4 held; 6 holds both
    assert [(d, s.signups) for d, s in days.due(100)] == [(5, 12), (6, 12)]


def test_due_stops_before_the_days_the_partials_still_cover() -> None:
    days = FinalDays(1)
    days.take(0, FinalReport(days.session, 9, {3: _row(1), 7: _row(2)}))
    assert [d for d, _ in days.due(6)] == [3, 4, 5]
    assert [(d, s.signups) for d, s in days.due(10)] == [(6, 1), (7, 2), (8, 2), (9, 2)]


def test_a_report_of_another_session_is_stale() -> None:
    days = FinalDays(1)
    days.take(0, FinalReport("not-this-one", 9, {3: _row(1)}))
    assert days.due(100) == []


def test_a_restart_asks_for_everything_again_and_hands_it_out_again() -> None:
    days = FinalDays(1)
    old = days.session
    days.take(0, FinalReport(old, 4, {3: _row(1)}))
    assert [d for d, _ in days.due(100)] == [3, 4]
    days.restart()
    assert days.session != old and days.due(100) == []
    days.take(0, FinalReport(old, 9, {5: _row(5)}))  # in flight from before: ignored
    days.take(0, FinalReport(days.session, 4, {3: _row(1)}))
    assert [d for d, _ in days.due(100)] == [3, 4]


_DAY_ROWS = st.dictionaries(
    st.integers(0, 40), st.builds(_row, st.integers(0, 9), st.integers(0, 99)), max_size=12
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(_DAY_ROWS, min_size=1, max_size=4),
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 50)), max_size=30),
    st.integers(1, 5),
)
def test_the_days_handed_out_are_the_partitions_rows_added_up(
    partitions: list[dict[int, DaySides]], steps: list[tuple[int, int]], chunk: int
) -> None:
    """Whatever the order partitions advance in and however their rows are chunked, each
    day comes out once, in order, equal to the sum `replay --series` makes of the same rows."""
    n = len(partitions)
    days = FinalDays(n)
    senders = [FinalSender() for _ in range(n)]
    through = [-1] * n
    out: list[tuple[int, DaySides]] = []
    for partition, advance in [*steps, *((p, 50) for p in range(n))]:
        p = partition % n
        through[p] = max(through[p], advance)
        for report in senders[p].reports(days.session, partitions[p], through[p], chunk):
            days.take(p, FinalReport.from_json(orjson.loads(orjson.dumps(report.to_json()))))
        out += days.due(1000)
    firsts = [min(rows) for rows in partitions if rows]
    if not firsts:
        assert out == []
        return
    assert _figures(out) == _figures(daily_sides(partitions, min(firsts), 50))
