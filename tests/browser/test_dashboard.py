"""The dashboard in headless Chromium (Debian's package, driven by Playwright) on a real worker.

Never runs ``playwright install``: the system browser at /usr/bin/chromium is used (installed by
scripts/setup.sh). Skipped when either the browser or the playwright package is missing.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest

from streamproc.sandbox.http import get_json
from tests.support.browser import ARTIFACTS, open_dashboard
from tests.support.data import generate, replay
from tests.support.live import open_active_store, produce_polls


def _pct(text: str) -> float:
    return float(text.strip().rstrip("%")) / 100


def _check_figures(page, fleet: dict, report: list[dict]) -> None:
    """The figures shown are /fleet's, and /fleet's are the report's values summed."""
    assert fleet["stores"] == 40
    up_week_h = sum(float(r["uptime_last_week"]) for r in report)
    down_week_h = sum(float(r["downtime_last_week"]) for r in report)
    assert fleet["windows"]["week"]["uptime"] == pytest.approx(
        up_week_h / (up_week_h + down_week_h), abs=1e-4)
    for name in ("hour", "day", "week"):
        shown = _pct(page.inner_text(f"#uptime-{name}"))
        assert shown == pytest.approx(fleet["windows"][name]["uptime"], abs=0.00006), name
    assert page.inner_text("#down-now").strip() == str(fleet["down_now"])
    first = page.query_selector("#worst tbody tr")
    worst = fleet["worst"][0]
    assert first.get_attribute("data-store") == worst["store_id"]
    row = next(r for r in report if r["store_id"] == worst["store_id"])
    cells = [c.inner_text() for c in first.query_selector_all("td")]
    assert cells[5] == row["downtime_last_week"] and cells[6] == row["uptime_last_week"]


def _check_search(page, store_id: str) -> None:
    """Searching narrows the table to the matching store."""
    page.fill("#search", store_id)
    page.wait_for_function("document.querySelectorAll('#worst tbody tr').length === 1",
                           timeout=10_000)
    page.fill("#search", "")


def _check_live_outage(page, worker) -> None:
    """An outage produced now appears in the live feed, and the figures move."""
    store_id, now = open_active_store(worker.base_url)
    produce_polls(worker.env, [(store_id, [(now + 1_000_000, False)])])
    page.wait_for_selector(f"#feed li.down[data-store='{store_id}']", timeout=15_000)
    page.wait_for_function("document.getElementById('down-now').textContent !== '0'",
                           timeout=15_000)


def _check_report_download(page) -> None:
    """The report button yields a CSV link."""
    page.click("#report-btn")
    link = page.wait_for_selector("#report-link", timeout=120_000)
    href = link.get_attribute("href")
    with page.expect_download() as download_info:
        link.click()
    body = Path(download_info.value.path()).read_text()
    assert body.splitlines()[0].startswith("store_id,uptime_last_hour")
    assert len(body.splitlines()) == 41, href


def test_dashboard(worker, browser, tmp_path):
    replay(worker.env, generate(tmp_path / "data", 40, 8, 5))
    report = list(csv.DictReader(io.StringIO(worker.snapshot_csv())))
    assert len(report) == 40

    problems: list[str] = []
    page = open_dashboard(browser, worker.base_url, problems)
    fleet = get_json(worker.base_url, "/fleet?limit=1000")
    _check_figures(page, fleet, report)
    _check_search(page, fleet["worst"][0]["store_id"])
    _check_live_outage(page, worker)
    _check_report_download(page)

    ARTIFACTS.mkdir(exist_ok=True)
    time.sleep(0.3)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=False)
    assert problems == []
