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
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from agents.kafka.producer import produce_lines
from agents.kafka.topics import ensure_topics
from models.settings import Settings
from tests.support.browser import find_chromium
from tests.support.environment import run_variable
from tests.support.workers import (
    Workers,
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


def _browse(chromium: str, profile: Path, *args: str) -> str:
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--user-data-dir={profile}", "--virtual-time-budget=6000", *args],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    return done.stdout.decode()


def money(value: Decimal) -> str:
    """How dashboard.js (and the served page) writes money of the generated world, in USD:
    its currency, thousands separated by commas, two decimals."""
    return f"${value:,.2f}"


def _alert_times(dom: str) -> list[datetime]:
    """The times of the alerts the page lists, in the order it lists them."""
    listed = re.search(r'<ul id="alerts"[^>]*>(.*?)</ul>', dom, re.DOTALL)
    assert listed is not None
    stamps = re.findall(r" · (\d{4}-\d{2}-\d{2}T[^ ]+) · ", listed.group(1))
    return [datetime.fromisoformat(stamp) for stamp in stamps]


def test_dashboard_shows_the_snapshot_mrr(
    chromium: str, fresh_names: Settings, workers: Workers, tmp_path: Path
) -> None:
    one_worker = workers
    settings = worker_settings(fresh_names)
    lines = world(settings, seed=31, accounts=150, days=150)
    expected, _, _ = replayed(settings, lines)
    ensure_topics(settings)
    produce_lines(lines, settings)
    one_worker.start(1)
    port = one_worker.port(1)
    wait_for_figures(settings, expected, one_worker)
    wait_until(lambda: http_get(port, "/health")[0] == 200, "a ready /health", tail=one_worker.tail)
    status, content_type, page = http_get(port, "/")
    assert status == 200 and content_type.startswith("text/html") and b'id="mrr"' in page
    # the first paint has the figures: written into the HTML, before any script ran
    served = page.decode()
    assert f'data-testid="mrr">{money(expected["mrr"])}<' in served
    assert "connecting" not in served and expected["as_of"] in served
    times = _alert_times(served)
    assert times and times == sorted(times, reverse=True)  # newest first

    url = f"http://127.0.0.1:{port}/"
    dom = _browse(chromium, tmp_path / "profile", "--dump-dom", url)
    shown = re.search(r'id="mrr"[^>]*>([^<]*)<', dom)
    assert shown is not None, dom[:2000]
    assert shown.group(1) == money(expected["mrr"]), shown.group(1)
    assert expected["as_of"] in dom
    dau = re.search(r'id="dau"[^>]*>([^<]*)<', dom)
    assert dau is not None and dau.group(1) == f"{expected['dau']:,}"
    assert dom.count("<rect") == 5  # the five movements' bars
    assert "<polyline" in dom  # the DAU sparkline
    assert "not updating" not in dom
    times = _alert_times(dom)
    assert times and times == sorted(times, reverse=True)  # still newest first, polled

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "dashboard.png"
    shot.unlink(missing_ok=True)
    _browse(chromium, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,900", url)
    assert shot.stat().st_size > 10_000
    target = run_variable(SCREENSHOT_TO)
    if target:  # only on request (scripts/screenshot): never in an ordinary test run
        shutil.copyfile(shot, ROOT / target)  # an absolute target stays as it is
