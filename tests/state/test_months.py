"""The month book and its two tables: monthly movements (with their bridge) and cohorts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.tables import CohortRow, MonthRow
from state.checkpoint_records import all_records, changed_records, engine_from_records
from state.clock import date_to_day
from state.codec import ACCOUNT_FIELDS, engine_from_json, engine_to_json, set_account_fields
from state.config import EngineConfig
from state.month_tables import cohort_rows, month_rows
from state.months import MonthBook, MonthMovements, month_of, month_text
from state.mrr import Account, MrrBook
from tests.support.streams import active, cancel, feed, pay, run

JAN_1 = date_to_day(date(2026, 1, 1))


def _text(*values: object) -> tuple[str, ...]:
    """Values as text, so a Decimal 150.00 reads as the "150.00" a table row shows."""
    return tuple("None" if v is None else str(v) for v in values)


def _book(steps: list[tuple[str, int, str]]) -> tuple[MrrBook, MonthBook]:
    """(account, day, MRR after) assignments through `MrrBook.set_mrr`, their movements
    recorded in a month book as the engine records them."""
    ledger, book = MrrBook(), MonthBook()
    for account_id, day, after in steps:
        account = ledger.account(account_id)
        change = ledger.set_mrr(account_id, account, Decimal(after), day)
        if change is not None:
            assert account.first_paid is not None
            book.record(change, account.first_paid)
    return ledger, book


def test_month_of_and_its_text() -> None:
    assert month_text(month_of(JAN_1)) == "2026-01"
    assert month_text(month_of(JAN_1 - 1)) == "2025-12"
    assert month_text(month_of(JAN_1 + 31 + 27)) == "2026-02"
    assert month_text(month_of(JAN_1 + 31 + 28)) == "2026-03"
    assert month_text(month_of(0)) == "1970-01"


@pytest.mark.parametrize(
    ("after", "kind", "amount", "count", "paying"),
    [
        ("150", "expansion", "50", 1, 1),
        ("60", "contraction", "40", 1, 1),
        ("0", "churned", "100", 1, 0),
    ],
)
def test_each_movement_lands_in_its_month_and_its_cohort(
    after: str, kind: str, amount: str, count: int, paying: int
) -> None:
    _, book = _book([("a", JAN_1 + 3, "100"), ("a", JAN_1 + 40, after)])
    jan, feb = month_of(JAN_1), month_of(JAN_1 + 40)
    assert book.months[jan] == MonthMovements(new=Decimal(100), new_count=1)
    february = book.months[feb]
    assert getattr(february, kind) == Decimal(amount)
    assert getattr(february, f"{kind}_count") == count
    assert february.net == Decimal(after) - 100
    assert book.cohorts[jan][jan].mrr == 100 and book.cohorts[jan][jan].paying == 1
    assert book.cohorts[feb][jan].mrr == Decimal(after) - 100
    assert book.cohorts[feb][jan].paying == paying - 1
    assert book.changed == {jan, feb}


def test_a_reactivated_account_stays_in_the_cohort_of_its_first_payment() -> None:
    _, book = _book([("a", JAN_1, "100"), ("a", JAN_1 + 10, "0"), ("a", JAN_1 + 70, "80")])
    march = month_of(JAN_1 + 70)
    assert book.months[march].reactivation == 80
    assert book.months[march].reactivation_count == 1
    assert list(book.cohorts[march]) == [month_of(JAN_1)]


def test_the_movements_table_fills_quiet_months_and_runs_to_stream_time() -> None:
    _, book = _book([("a", JAN_1, "100"), ("b", JAN_1 + 5, "50"), ("a", JAN_1 + 70, "120")])
    rows = month_rows([book.months], month_of(JAN_1 + 100), "USD")
    assert [r.month for r in rows] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    jan, feb, mar, apr = rows
    assert _text(jan.mrr_at_start, jan.new_mrr, jan.new_customers, jan.mrr_at_end) == (
        "0.00", "150.00", "2", "150.00",
    )  # fmt: skip
    assert _text(feb.mrr_at_start, feb.net_new_mrr, feb.mrr_at_end) == ("150.00", "0.00", "150.00")
    assert _text(mar.expansion_mrr, mar.expansion_count, mar.mrr_at_end) == ("20.00", "1", "170.00")
    assert _text(apr.mrr_at_start, apr.mrr_at_end, apr.customers_at_end) == (
        "170.00", "170.00", "2",
    )  # fmt: skip
    assert {r.currency for r in rows} == {"USD"}


def test_partitions_books_add_up() -> None:
    _, one = _book([("a", JAN_1, "100")])
    _, two = _book([("b", JAN_1 + 2, "30"), ("b", JAN_1 + 40, "0")])
    rows = month_rows([one.months, two.months], None, "USD")
    assert [_text(r.month, r.mrr_at_end, r.customers_at_end) for r in rows] == [
        ("2026-01", "130.00", "2"),
        ("2026-02", "100.00", "1"),
    ]
    cohort = cohort_rows([one.cohorts, two.cohorts], None, "USD")
    assert [_text(r.month, r.customers, r.mrr, r.customers_pct, r.mrr_pct) for r in cohort] == [
        ("2026-01", "2", "130.00", "100.00", "100.00"),
        ("2026-02", "1", "100.00", "50.00", "76.92"),
    ]


def test_the_cohort_table_follows_each_cohort_from_its_first_month() -> None:
    _, book = _book([
        ("a", JAN_1, "100"), ("b", JAN_1 + 9, "50"), ("c", JAN_1 + 35, "80"),
        ("a", JAN_1 + 40, "150"), ("b", JAN_1 + 95, "0"),
    ])  # fmt: skip
    rows = cohort_rows([book.cohorts], month_of(JAN_1 + 95), "USD")
    got = [_text(r.cohort, r.month, r.months_since, r.customers, r.customers_pct, r.mrr,
                 r.mrr_pct) for r in rows]  # fmt: skip
    assert got == [
        ("2026-01", "2026-01", "0", "2", "100.00", "150.00", "100.00"),
        ("2026-01", "2026-02", "1", "2", "100.00", "200.00", "133.33"),
        ("2026-01", "2026-03", "2", "2", "100.00", "200.00", "133.33"),
        ("2026-01", "2026-04", "3", "1", "50.00", "150.00", "100.00"),
        ("2026-02", "2026-02", "0", "1", "100.00", "80.00", "100.00"),
        ("2026-02", "2026-03", "1", "1", "100.00", "80.00", "100.00"),
        ("2026-02", "2026-04", "2", "1", "100.00", "80.00", "100.00"),
    ]


def test_a_cohort_that_churned_in_its_own_month_has_no_percentages() -> None:
    _, book = _book([("a", JAN_1, "100"), ("a", JAN_1 + 3, "0")])
    (row,) = cohort_rows([book.cohorts], None, "USD")
    assert _text(row.customers, row.mrr) == ("0", "0.00")
    assert row.customers_pct is None and row.mrr_pct is None


def test_no_movement_no_rows() -> None:
    assert month_rows([], None, "USD") == [] and cohort_rows([], 5, "USD") == []


_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d"]),
        st.integers(min_value=0, max_value=4),
        st.sampled_from(["0", "0", "9.99", "20", "49.50", "100"]),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(_STEPS)
def test_the_bridge_holds_every_month_and_ends_at_the_ledger(
    steps: list[tuple[str, int, str]],
) -> None:
    day, timed = JAN_1, []
    for account, gap, after in steps:
        day += gap * 11
        timed.append((account, day, after))
    ledger, book = _book(timed)
    rows: list[MonthRow] = month_rows([book.months], None, "USD")
    before = None
    for row in rows:
        bridge = (
            row.mrr_at_start + row.new_mrr + row.expansion_mrr + row.reactivation_mrr
            - row.contraction_mrr - row.churned_mrr
        )  # fmt: skip
        assert bridge == row.mrr_at_end
        customers = (
            row.customers_at_start
            + row.new_customers
            + row.reactivated_customers
            - row.churned_customers
        )
        assert customers == row.customers_at_end
        if before is not None:
            assert (row.mrr_at_start, row.customers_at_start) == before
        before = (row.mrr_at_end, row.customers_at_end)
    if rows:
        assert (rows[-1].mrr_at_end, rows[-1].customers_at_end) == (ledger.mrr, ledger.paying)
    cohorts: list[CohortRow] = cohort_rows([book.cohorts], None, "USD")
    last = {r.cohort: r for r in cohorts}
    for cohort, final in last.items():
        members = [
            a for a in ledger.accounts.values()
            if a.first_paid is not None and month_text(month_of(a.first_paid)) == cohort
        ]  # fmt: skip
        assert final.mrr == sum((a.mrr for a in members), Decimal(0))
        assert final.customers == sum(1 for a in members if a.mrr > 0)


def test_the_engine_books_months_and_keeps_them_through_its_codec() -> None:
    events = [
        pay("a1", 1, "100"), pay("a2", 3, "40"), pay("a1", 40, "130"),
        cancel("a2", 45, effective_day=45), pay("a2", 75, "40"),
    ]  # fmt: skip
    ran = run(events, EngineConfig())
    months = ran.engine.months
    assert [month_text(m) for m in sorted(months.months)] == ["2026-01", "2026-02", "2026-03"]
    assert months.months[month_of(JAN_1 + 75)].reactivation == 40
    restored = engine_from_json(EngineConfig(), engine_to_json(ran.engine))
    assert restored.months.months == months.months
    assert restored.months.cohorts == months.cohorts
    assert restored.ledger.accounts["a1"].first_paid == ran.engine.ledger.accounts["a1"].first_paid


def test_a_checkpoint_writes_the_months_that_changed_and_restores_them() -> None:
    ran = run([pay("a1", 1, "100"), pay("a2", 40, "50")], EngineConfig())
    engine = ran.engine
    first = dict(all_records(engine, 1))
    assert {k for k in first if k.startswith("m:")} == {
        f"m:{month_of(JAN_1 + 1)}", f"m:{month_of(JAN_1 + 40)}",
    }  # fmt: skip
    feed(engine, [pay("a1", 41, "120"), active("a1", "u1", 42)])
    second = dict(changed_records(engine, 2))
    assert [k for k in second if k.startswith("m:")] == [f"m:{month_of(JAN_1 + 41)}"]
    assert changed_records(engine, 3)[:-1] == []
    restored = engine_from_records(EngineConfig(), (first | second).items())
    assert engine_to_json(restored) == engine_to_json(engine)


def test_an_account_written_before_first_paid_existed_restores_with_its_default() -> None:
    account = Account()
    set_account_fields("a1", account, [True, 5, None, 3])
    assert (account.ever_paid, account.streak_start) == (True, 3)
    assert account.first_paid is None and account.ended_at is None
    # written before subscriptions: the stale time was the one subscription's
    ((sid, sub),) = account.subscriptions.items()
    assert (sid, sub.changed_at, sub.paid_through) == ("a1", 5, None) and sub.monthly == 0
    with pytest.raises(ValueError, match="more than this version knows"):
        set_account_fields("a1", Account(), [None] * (len(ACCOUNT_FIELDS) + 2))
