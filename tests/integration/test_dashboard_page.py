"""The dashboard at `/`, rendered by headless Chromium against a worker fed a known stream.

The screenshot goes to `tests/artifacts/dashboard.png` (ignored by git, so a test run never
changes a tracked file). README's `docs/dashboard.png` is refreshed only on request:
`bash scripts/screenshot` runs this test with `GROWTH_DASHBOARD_SCREENSHOT` set to that
path, and the test copies its screenshot there.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from agents.embedded.replay import ReplayOutputs, replay_lines
from agents.kafka.producer import produce_lines
from agents.kafka.topics import ensure_topics
from models.settings import Settings
from tests.support.browser import find_chromium
from tests.support.environment import run_variable
from tests.support.workers import (
    Workers,
    get_json,
    http_get,
    replayed,
    wait_for_figures,
    wait_until,
    worker_settings,
    world,
)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"  # in .gitignore
SCREENSHOT_TO = "GROWTH_DASHBOARD_SCREENSHOT"  # set by scripts/screenshot
WINDOW = "--window-size=1280,2100"  # the whole page: every chart and the alerts
VIRTUAL_TIME_MS = 25_000
"""Page time Chromium lets pass before it dumps or shoots: the charts' 10 s poll runs
three times (at the first figures, then 10 s and 20 s later), the figures' 2 s poll ~12."""
ACTIVITY_DAYS = 90
SERIES_SETTLE_S = 30.0


def test_no_chromium_skips_with_the_package_to_install(tmp_path: Path) -> None:
    with pytest.raises(pytest.skip.Exception, match=r"apt-get install -y chromium"):
        find_chromium(str(tmp_path), required=False)


def test_no_chromium_fails_where_it_is_required(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"no chromium on PATH"):
        find_chromium(str(tmp_path), required=True)


def test_chromium_is_found_on_path(tmp_path: Path) -> None:
    browser = tmp_path / "chromium"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    assert find_chromium(f"{tmp_path / 'nothing'}{os.pathsep}{tmp_path}", required=True) == str(
        browser
    )


def _browse(chromium: str, profile: Path, *args: str) -> tuple[str, str]:
    """(stdout, stderr) of headless Chromium; stderr has the page's console (`:CONSOLE`)."""
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--user-data-dir={profile}", f"--virtual-time-budget={VIRTUAL_TIME_MS}",
         "--enable-logging=stderr", "--v=0", WINDOW, *args],
        capture_output=True, timeout=180, check=True,
    )  # fmt: skip
    return done.stdout.decode(), done.stderr.decode(errors="replace")


def _console(stderr: str, port: int) -> list[str]:
    """What the page's own scripts wrote to the console, uncaught errors included."""
    ours = f"source: http://127.0.0.1:{port}/"
    return [line for line in stderr.splitlines() if ":CONSOLE" in line and ours in line]


def money(value: Decimal) -> str:
    """How dashboard.js (and the served page) writes money of the generated world, in USD:
    its currency, thousands separated by commas, two decimals."""
    return f"${value:,.2f}"


def world_to_yesterday(settings: Settings, seed: int, accounts: int, days: int) -> list[bytes]:
    """`tests.support.workers.world`, but ending yesterday (UTC), on this test's topics.

    A worker dead-letters an event more than an hour ahead of its record time (`future`),
    and the producer stamps a line without `timestamp` with the wall clock: a world must
    not outrun today. WorldSpec's fixed start (2026-01-01) plus 400 days would."""
    start = datetime.now(UTC).date() - timedelta(days=days)
    return world(settings, seed, accounts, days, start)


def _alert_times(dom: str) -> list[datetime]:
    """The times of the alerts the page lists, in the order it lists them."""
    listed = re.search(r'<ul id="alerts"[^>]*>(.*?)</ul>', dom, re.DOTALL)
    assert listed is not None
    stamps = re.findall(r" · (\d{4}-\d{2}-\d{2}T[^ ]+) · ", listed.group(1))
    return [datetime.fromisoformat(stamp) for stamp in stamps]


def _svg(dom: str, element: str) -> str:
    """The inside of the chart `<svg id=element>`."""
    found = re.search(rf'<svg id="{element}"[^>]*>(.*?)</svg>', dom, re.DOTALL)
    assert found is not None, element
    return found.group(1)


def _months_ending(month: str, count: int) -> list[str]:
    year, number = (int(part) for part in month.split("-"))
    last = year * 12 + number - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(last - count + 1, last + 1)]


def _month_end(month: str, today: date) -> date:
    """The month's last day, or today for the month of today."""
    first = date.fromisoformat(f"{month}-01")
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return min(following - timedelta(days=1), today)


def _percent(value: Decimal | None) -> str:
    """A heat map cell's text: its percentage rounded half up (JS `Math.round`)."""
    return "–" if value is None else f"{value.quantize(Decimal(1), ROUND_HALF_UP)}%"


def _answers(port: int, path: str) -> bool:
    return http_get(port, path)[0] == 200


def _series_settled(port: int, wanted: dict[str, dict[str, Any]]) -> None:
    """Until the worker's series answer `wanted` (figure -> {day: the replay's value}), for
    at most `SERIES_SETTLE_S`: it rewrites past days every 10 s, and the page shows what the
    series hold then. Not an assertion: the page's (the caption, the values drawn) tell."""
    deadline = time.monotonic() + SERIES_SETTLE_S
    while time.monotonic() < deadline:
        answers = {
            name: {
                p["day"]: p["value"]
                for p in get_json(port, f"/metrics/{name}/series?from={min(days)}&to={max(days)}")[
                    "periods"
                ]
            }
            for name, days in wanted.items()
        }
        if all(answers[n].get(d) == v for n, days in wanted.items() for d, v in days.items()):
            return
        time.sleep(0.5)


def _nps_text(month: str, row: dict[str, Any]) -> str:
    """The title of a month's NPS point: the 90-day NPS at its end, ± its margin."""
    score = f"{month} (NPS of the 90 days to {row['day']}): {row['nps']:.1f}"
    margin = row["nps_margin"]
    return score + (", margin unknown" if margin is None else f" ± {margin:.1f}")


def test_dashboard_draws_the_figures_and_twelve_months_of_charts(
    chromium: str, fresh_names: Settings, workers: Workers, tmp_path: Path
) -> None:
    """A 400-day backlog, produced before the worker starts (a catch-up): the page shows
    the snapshot's figures, MRR movements by month for the 12 months ending at the stream
    day's month, DAU/WAU/MAU over 90 days, NPS by month with its margin, cohorts."""
    one_worker = workers
    settings = worker_settings(fresh_names)
    lines = world_to_yesterday(settings, seed=31, accounts=150, days=400)
    expected, _, _ = replayed(settings, lines)
    # the worker's history, months and cohorts are `replay --partitions P`'s (state/final_days.py)
    replay = replay_lines(lines, settings, ReplayOutputs(), partitions=settings.topic_partitions)
    today = date.fromisoformat(expected["day"])
    months = _months_ending(expected["day"][:7], 12)
    month_rows = {row.month: row for row in replay.months()}
    assert [m for m in month_rows if m in months] == months  # the world covers all 12
    ensure_topics(settings)
    produce_lines(lines, settings)
    one_worker.start(1)
    port = one_worker.port(1)
    wait_for_figures(settings, expected, one_worker)
    wait_until(lambda: http_get(port, "/health")[0] == 200, "a ready /health", tail=one_worker.tail)
    for table in ("/months", "/cohorts"):  # the aggregator writes them with the figures
        wait_until(partial(_answers, port, table), table, tail=one_worker.tail)
    history = {row["day"]: row for row in replay.series()}
    activity_days = [(today - timedelta(days=back)).isoformat() for back in range(89, -1, -1)]
    month_ends = [history[_month_end(m, today).isoformat()] for m in months]
    wanted = {name: {d: history[d][name] for d in activity_days} for name in ("dau", "wau", "mau")}
    for name in ("nps", "nps_margin"):
        wanted[name] = {str(row["day"]): row[name] for row in month_ends}
    _series_settled(port, wanted)

    status, content_type, page = http_get(port, "/")
    assert status == 200 and content_type.startswith("text/html") and b'id="mrr"' in page
    # the first paint has the figures: written into the HTML, before any script ran
    served = page.decode()
    assert f'data-testid="mrr">{money(expected["mrr"])}<' in served
    assert "connecting" not in served and expected["as_of"] in served
    times = _alert_times(served)
    assert times and times == sorted(times, reverse=True)  # newest first

    url = f"http://127.0.0.1:{port}/"
    dom, console = _browse(chromium, tmp_path / "profile", "--dump-dom", url)
    assert _console(console, port) == []  # no script error, nothing logged
    shown = re.search(r'id="mrr"[^>]*>([^<]*)<', dom)
    assert shown is not None, dom[:2000]
    assert shown.group(1) == money(expected["mrr"]), shown.group(1)
    assert expected["as_of"] in dom
    dau = re.search(r'id="dau"[^>]*>([^<]*)<', dom)
    assert dau is not None and dau.group(1) == f"{expected['dau']:,}"
    assert _svg(dom, "movements").count("<rect") == 5  # the 30 days' five movements
    assert "not updating" not in dom
    times = _alert_times(dom)
    assert times and times == sorted(times, reverse=True)  # still newest first, polled

    # 1. MRR by month: a group per month, the 12 ending at the stream day's month, each
    # with its month-end MRR as the replay's months table has it
    groups = r'<g data-month="([^"]+)"[^>]*>(.*?)</g>'
    drawn = re.findall(groups, _svg(dom, "mrr-months"), re.DOTALL)
    assert [month for month, _ in drawn] == months
    for month, group in drawn:
        end = re.search(rf"MRR at the end of {month}[^:<]*: ([^<]+)<", group)
        assert end is not None and end.group(1) == money(month_rows[month].mrr_at_end), month
        assert "m-new" in group or month_rows[month].new_mrr == 0, month

    # 2. DAU/WAU/MAU: a value on each of the 90 days, three lines, each day's values the
    # replay's history (`replay --series`), today's the snapshot's
    caption = re.search(r'data-testid="activity-days">([^<]*)<', dom)
    assert caption is not None and caption.group(1) == "90 of 90 days", caption
    activity = _svg(dom, "activity")
    assert sorted(re.findall(r'data-series="(\w+)"', activity)) == ["dau", "mau", "wau"]
    days = dict(re.findall(r'data-day="([^"]+)"><title>\1: ([^<]*)</title>', activity))
    assert list(days) == activity_days
    want_days = {
        d: " · ".join(f"{n.upper()} {history[d][n]:,}" for n in ("dau", "wau", "mau"))
        for d in activity_days
    }
    assert days == want_days, {d: (days[d], want_days[d]) for d in days if days[d] != want_days[d]}
    today_text = f"DAU {expected['dau']:,} · WAU {expected['wau']:,} · MAU {expected['mau']:,}"
    assert days[expected["day"]] == today_text

    # 3. NPS at each month's end (the 90-day NPS as it stood on the month's last day), an
    # error bar where it has a margin; the current month's point is the snapshot's NPS
    nps = _svg(dom, "nps-months")
    scored = [(m, row) for m, row in zip(months, month_ends, strict=True) if row["nps"] is not None]
    assert len(scored) >= 6 and nps.count('class="nps-point"') == len(scored)
    assert nps.count('class="nps-error"') == sum(row["nps_margin"] is not None for _, row in scored)
    points = re.findall(r'class="nps-point"><title>([^<]*)</title>', nps)
    assert points == [_nps_text(m, row) for m, row in scored]
    now = f"{months[-1]} (NPS of the 90 days to {expected['day']}): {expected['nps']:.1f}"
    assert points[-1] == f"{now} ± {expected['nps_margin']:.1f}"
    assert 'class="zero"' in nps

    # 4. cohorts: the last 12 first-paid months, a cell per month since, each with its
    # percentage of the cohort's first month-end
    cells = re.findall(
        r'<g class="cell" data-cohort="([^"]+)" data-months-since="(\d+)">.*?'
        r"<text[^>]*>([^<]*)</text></g>",
        _svg(dom, "cohorts"),
        re.DOTALL,
    )
    cohorts = sorted({row.cohort for row in replay.cohorts()})[-12:]
    want = [
        (row.cohort, str(row.months_since), _percent(row.customers_pct))
        for row in sorted(replay.cohorts(), key=lambda r: (r.cohort, r.months_since))
        if row.cohort in cohorts
    ]
    assert cells and sorted(cells) == sorted(want)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    shot.unlink(missing_ok=True)
    _browse(chromium, tmp_path / "profile", f"--screenshot={shot}", url)
    assert shot.stat().st_size > 10_000
    target = run_variable(SCREENSHOT_TO)
    if target:  # only on request (scripts/screenshot): never in an ordinary test run
        shutil.copyfile(shot, ROOT / target)  # an absolute target stays as it is
