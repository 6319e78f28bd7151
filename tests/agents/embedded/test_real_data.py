"""Replays of four real public data sets, checked against figures computed from the CSV.

The data live in the repository, in `tests/data` (see its README for sources and
licences); a missing file fails its tests, it never skips them. Each test converts a file
to replay lines (`realdata.py`), replays them through `agents.embedded.replay.replay_lines`, and
compares the snapshot with
(a) figures computed straight from the CSV rows by plain Python in `realdata.py` and
(b) the concrete numbers those give, written down here, so a change on either side
shows.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from agents.embedded.replay import replay_lines
from models.settings import Settings
from tests.agents.embedded import realdata as rd

DATA = Path(__file__).resolve().parents[2] / "data"  # tests/data, wherever pytest runs from
D = Decimal


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "window_days": 30,
        "nps_window_days": 90,
        "lateness_days": 30,
        "lapse_grace_days": 14,
        "reporting_currency": "USD",
        "fx_rates": {"USD": D(1)},
    }
    return Settings(**(values | overrides))


def replay(lines: Sequence[rd.Line], **overrides: Any) -> dict[str, Any]:
    """Snapshot of a replay; every line must have been applied (none late, bad or a copy)."""
    snap: dict[str, Any] = replay_lines(rd.to_bytes(lines), settings(**overrides)).snapshot()
    assert (snap["events"], snap["dead_letters"], snap["duplicates"]) == (len(lines), 0, 0)
    return snap


def picked(snap: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    return {name: snap[name] for name in expected}


@pytest.fixture(scope="module")
def data() -> Path:
    """tests/data; a missing data set is a failure (the files are part of the repository)."""
    missing = [
        str(DATA / name)
        for name in (rd.DBT_CSV, rd.TELCO_CSV, rd.CDNOW_TXT, rd.CARPENTRIES_CSV)
        if not (DATA / name).is_file()
    ]
    assert not missing, f"real data sets missing from the repository: {missing}"
    return DATA


# The upstream files' bytes (tests/data/README.md): a checkout that converted line endings
# (CDNOW_master.txt and the Carpentries CSV are CRLF) or a truncated copy fails here.
DATA_SHA256 = {
    rd.DBT_CSV: "eba22dd5a2e2fcdb797d626672612288d058cf1fd6b6fdc65976dea44ea552ea",
    rd.TELCO_CSV: "16320c9c1ec72448db59aa0a26a0b95401046bef5d02fd3aeb906448e3055e91",
    rd.CDNOW_TXT: "eff6889ed364c5199d6eacbbeb7a6d559971df4406ac876f322c373f00a072ef",
    rd.CARPENTRIES_CSV: "8fb771bd582513a198f43bcef3bd2f277b61d18e5e162b91d4ea52aeded65111",
}


@pytest.mark.parametrize("name", list(DATA_SHA256), ids=str)
def test_data_set_is_the_upstream_file(data: Path, name: Path) -> None:
    assert hashlib.sha256((data / name).read_bytes()).hexdigest() == DATA_SHA256[name]


# -- dbt MRR playbook ----------------------------------------------------------------


@pytest.fixture(scope="module")
def periods(data: Path) -> list[rd.Period]:
    return rd.read_dbt(data / rd.DBT_CSV)


@pytest.fixture(scope="module")
def dbt_lines(periods: list[rd.Period]) -> list[rd.Line]:
    return rd.dbt_lines(periods)


def test_dbt_conversion(periods: list[rd.Period], dbt_lines: list[rd.Line]) -> None:
    assert len(periods) == 121
    assert len({p.customer_id for p in periods}) == 55
    assert all(p.end is not None for p in periods)  # no open period in this file
    months = sum(
        (p.end.year - p.start.year) * 12 + p.end.month - p.start.month
        for p in periods
        if p.end is not None
    )
    topics = [item["topic"] for item in dbt_lines]
    assert months == topics.count("payments") == 352
    assert topics.count("signups") == 55
    assert topics.count("cancellations") == 58  # period ends not followed by a period at once
    times = [item["value"]["occurred_at"] for item in dbt_lines]
    assert times == sorted(times)


def test_dbt_converter_rules_on_a_made_up_customer() -> None:
    """The converter's rules on the cases the real file has (a contiguous price change,
    a gap) and one it lacks (an open period, paid every month up to the horizon)."""
    periods = [
        rd.Period("1", "a", date(2019, 1, 1), date(2019, 3, 1), D(10)),
        rd.Period("2", "a", date(2019, 3, 1), date(2019, 4, 1), D(20)),  # no cancel on 03-01
        rd.Period("3", "a", date(2019, 6, 1), None, D(30)),  # after a gap, still active
    ]
    lines = rd.dbt_lines(periods, horizon=date(2019, 8, 1))
    assert [(i["topic"][0], i["value"]["occurred_at"][:10]) for i in lines] == [
        ("s", "2019-01-01"),
        ("p", "2019-01-01"),
        ("p", "2019-02-01"),
        ("p", "2019-03-01"),
        ("c", "2019-04-01"),
        ("p", "2019-06-01"),
        ("p", "2019-07-01"),
        ("p", "2019-08-01"),
    ]
    for month, mrr in ((date(2019, 3, 1), "20.00"), (date(2019, 4, 1), "0.00")):
        assert rd.dbt_expected(periods, month)["mrr"] == D(mrr)
        assert replay(rd.until_end_of(lines, month))["mrr"] == D(mrr)
    expected = rd.dbt_expected(periods, date(2019, 8, 1))
    assert (expected["mrr"], expected["reactivated_customers"]) == (D("30.00"), 0)
    assert picked(replay(lines), expected) == expected


# (month start M, MRR, paying customers): dbt's "active in M when start <= M < end"
DBT_POINTS = [
    (date(2018, 1, 1), "55.00", 1),
    (date(2018, 5, 1), "190.00", 3),
    (date(2018, 9, 1), "340.00", 6),  # customer 10 reactivated (gap 2018-05..09)
    (date(2018, 12, 1), "585.00", 12),
    (date(2019, 4, 1), "895.00", 17),  # customer 1 reactivated (gap 2019-02..04)
    (date(2019, 7, 1), "1350.00", 26),  # customer 5 reactivated (gap 2019-03..07)
    (date(2019, 12, 1), "1255.00", 28),
    (date(2020, 1, 1), "175.00", 4),
    (date(2020, 2, 1), "0.00", 0),  # every period has ended
]


@pytest.mark.parametrize(("month", "mrr", "paying"), DBT_POINTS, ids=lambda v: str(v))
def test_dbt_mrr_at_month_start(
    periods: list[rd.Period], dbt_lines: list[rd.Line], month: date, mrr: str, paying: int
) -> None:
    expected = rd.dbt_expected(periods, month)
    assert (expected["mrr"], expected["paying_customers"]) == (D(mrr), paying)
    snap = replay(rd.until_end_of(dbt_lines, month))
    assert snap["day"] == month.isoformat()
    assert (snap["mrr"], snap["paying_customers"]) == (D(mrr), paying)
    assert snap["arr"] == 12 * D(mrr)


def test_dbt_reactivations_are_reactivations(
    periods: list[rd.Period], dbt_lines: list[rd.Line]
) -> None:
    """The three month starts right after a gap: one reactivation each, of 50.00."""
    for month in (date(2018, 9, 1), date(2019, 4, 1), date(2019, 7, 1)):
        expected = rd.dbt_expected(periods, month)
        assert (expected["reactivated_customers"], expected["reactivation_mrr"]) == (1, D("50.00"))
        snap = replay(rd.until_end_of(dbt_lines, month))
        assert (snap["reactivated_customers"], snap["reactivation_mrr"]) == (1, D("50.00"))


def test_dbt_every_month_with_movements(periods: list[rd.Period], dbt_lines: list[rd.Line]) -> None:
    """Every month start from 2018-01 to 2020-02 (each has events; 2017-12-01 has none, so
    no snapshot can be taken on it): MRR, paying customers, the five movement sums and
    three counts of the 30-day window, and signups."""
    month, checked = date(2018, 1, 1), 0
    while month <= date(2020, 2, 1):
        expected = rd.dbt_expected(periods, month)
        snap = replay(rd.until_end_of(dbt_lines, month))
        assert snap["day"] == month.isoformat()
        assert picked(snap, expected) == expected, month
        month, checked = rd.add_months(month, 1), checked + 1
    assert checked == 26


# -- IBM Telco customer churn --------------------------------------------------------


@pytest.fixture(scope="module")
def telco(data: Path) -> list[rd.TelcoCustomer]:
    return rd.read_telco(data / rd.TELCO_CSV)


def test_telco_rows(telco: list[rd.TelcoCustomer]) -> None:
    assert len(telco) == 7043
    assert sum(c.churned for c in telco) == 1869
    assert sum(c.tenure for c in telco) == 227990
    assert sum(1 for c in telco if c.tenure == 0) == 11
    assert not any(c.churned for c in telco if c.tenure == 0)


@pytest.mark.slow
def test_telco_snapshot(telco: list[rd.TelcoCustomer]) -> None:
    lines = rd.telco_lines(telco)
    assert len(lines) == 7043 + 227990 + 1869
    # no retained customer lapses: every last payment is on 2025-12-01, paid through
    # 2026-01-01, lapsing only at 2026-01-15, after the last event (S = 2026-01-01)
    assert lines[-1]["value"]["occurred_at"] == "2026-01-01T00:00:00Z"
    last_payment = max(i["value"]["occurred_at"] for i in lines if i["topic"] == "payments")
    assert last_payment == "2025-12-01T00:00:00Z"
    expected = rd.telco_expected(telco)
    assert expected == {
        "events": 236902,
        "mrr": D("316530.15"),
        "arr": D("3798361.80"),
        "paying_customers": 5163,
        "arpa": D("61.31"),
        "churned_customers": 1869,
        "churned_mrr": D("139130.85"),
        "new_customers": 0,
        "new_mrr": D("0.00"),
        "net_new_mrr": D("-139130.85"),
        "mrr_at_start": D("455661.00"),
        "customers_at_start": 7032,
        "customer_churn_rate": D("26.58"),
        "gross_mrr_churn_rate": D("30.53"),
        "retention_rate": D("73.42"),
        "grr": D("69.47"),
        "nrr": D("69.47"),
        "clv": D("230.67"),
        "signups": 11,
    }
    snap = replay(lines)
    assert (snap["as_of"], snap["day"]) == ("2026-01-01T00:00:00Z", "2026-01-01")
    assert picked(snap, expected) == expected


# -- CDNOW purchases -----------------------------------------------------------------


@pytest.fixture(scope="module")
def purchases(data: Path) -> list[rd.Purchase]:
    return rd.read_cdnow(data / rd.CDNOW_TXT)


@pytest.fixture(scope="module")
def cdnow_lines(purchases: list[rd.Purchase]) -> list[rd.Line]:
    return rd.cdnow_lines(purchases)


def test_cdnow_rows(purchases: list[rd.Purchase], cdnow_lines: list[rd.Line]) -> None:
    assert len(purchases) == len(cdnow_lines) == 69659
    assert len({p.customer_id for p in purchases}) == 23570
    assert min(p.day for p in purchases) == date(1997, 1, 1)
    assert max(p.day for p in purchases) == date(1998, 6, 30)
    times = [item["value"]["occurred_at"] for item in cdnow_lines]
    assert times == sorted(times)


CDNOW_POINTS = [
    # day, dau, wau, mau, stickiness, purchases up to that day
    (date(1997, 1, 31), 321, 2320, 7685, "0.0418", 8928),
    (date(1997, 3, 31), 129, 1081, 9214, "0.0140", 31798),
    (date(1997, 12, 31), 48, 362, 1793, "0.0268", 56902),
    (date(1998, 6, 30), 55, 334, 1506, "0.0365", 69659),  # the last day of the file
]


@pytest.mark.parametrize(
    ("day", "dau", "wau", "mau", "stickiness", "events"), CDNOW_POINTS, ids=lambda v: str(v)
)
def test_cdnow_active_users(
    purchases: list[rd.Purchase],
    cdnow_lines: list[rd.Line],
    day: date,
    dau: int,
    wau: int,
    mau: int,
    stickiness: str,
    events: int,
) -> None:
    expected = rd.cdnow_expected(purchases, day)
    assert expected == {
        "dau": dau,
        "wau": wau,
        "mau": mau,
        "stickiness": D(stickiness),
        "events": events,
    }
    snap = replay(rd.until_end_of(cdnow_lines, day))
    assert snap["day"] == day.isoformat()
    assert picked(snap, expected) == expected


# -- Carpentries post-training survey ------------------------------------------------


@pytest.fixture(scope="module")
def responses(data: Path) -> list[rd.Response]:
    rows, answered = rd.read_carpentries(data / rd.CARPENTRIES_CSV)
    assert (rows, len(answered)) == (967, 889)
    return answered


@pytest.fixture(scope="module")
def survey_lines(responses: list[rd.Response]) -> list[rd.Line]:
    lines = rd.carpentries_lines(responses)
    assert lines[0]["value"]["occurred_at"] == "2016-06-09T10:36:00Z"
    assert lines[-1]["value"]["occurred_at"] == "2018-09-08T15:29:00Z"
    return lines


def nps(n: int, promoters: int, passives: int, detractors: int, score: str, margin: str) -> Any:
    return {
        "nps_responses": n,
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
        "nps": D(score),
        "nps_margin": D(margin),
    }


def test_carpentries_nps_90_days(responses: list[rd.Response], survey_lines: list[rd.Line]) -> None:
    """The default 90-day window ending on the last response's day, 2018-09-08."""
    expected = rd.carpentries_expected(responses, date(2018, 9, 8), 90)
    assert expected == nps(170, 73, 78, 19, "31.8", "9.9")
    snap = replay(survey_lines, nps_window_days=90)
    assert snap["day"] == "2018-09-08"
    assert picked(snap, expected) == expected


def test_carpentries_nps_90_days_at_end_of_2017(
    responses: list[rd.Response], survey_lines: list[rd.Line]
) -> None:
    """The 90 days up to 2017-12-16, the last day of 2017 with a response."""
    expected = rd.carpentries_expected(responses, date(2017, 12, 16), 90)
    assert expected == nps(127, 58, 50, 19, "30.7", "12.3")
    snap = replay(rd.until_end_of(survey_lines, date(2017, 12, 16)), nps_window_days=90)
    assert snap["day"] == "2017-12-16"
    assert picked(snap, expected) == expected


def test_carpentries_nps_all_time(
    responses: list[rd.Response], survey_lines: list[rd.Line]
) -> None:
    expected = rd.carpentries_expected(responses, date(2018, 9, 8), 3660)
    assert expected == nps(889, 501, 317, 71, "48.4", "4.2")
    snap = replay(survey_lines, nps_window_days=3660, lateness_days=366)
    assert snap["day"] == "2018-09-08"
    assert picked(snap, expected) == expected
