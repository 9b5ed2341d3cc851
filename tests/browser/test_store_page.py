"""The store page (issue 17, part 2) in headless Chromium on a real worker: opened from the
dashboard by a click on a row and by the search, its picture's figures equal
``/stores/{id}?week=1``, and a new poll shows up without a reload."""

from __future__ import annotations

import time

import pytest

from streamproc.sandbox.http import get_json
from tests.support.browser import ARTIFACTS, open_dashboard
from tests.support.data import generate, replay
from tests.support.live import open_active_store, produce_polls


def _doc(base_url: str, store_id: str) -> dict:
    return get_json(base_url, f"/stores/{store_id}?week=1")


def _wait_rendered(page, doc: dict) -> None:
    page.wait_for_function(
        f"document.getElementById('timeline').dataset.endUs === '{doc['week']['end_us']}'",
        timeout=20_000)


def _check_picture(page, doc: dict) -> None:
    """Everything drawn is /stores/{id}'s: polls, up and down time, days, outages, figures."""
    week, fig, report = doc["week"], doc["figures"], doc["report"]
    assert page.locator("#timeline line.poll").count() == len(week["polls"])
    for kind, field in (("up", "uptime_last_week"), ("down", "downtime_last_week")):
        drawn = page.eval_on_selector_all(f"#timeline rect.seg-{kind}", "els => els.reduce("
                                          "(a, e) => a + Number(e.dataset.us), 0)")
        assert drawn == pytest.approx(doc["report_seconds"][field] * 1e6, abs=1), kind
    days = page.eval_on_selector_all("#timeline text.day-figure", "els => els.map(e => "
                                     "[e.dataset.date, Number(e.dataset.uptimeHours)])")
    assert days == [[d["date"], d["uptime_hours"]] for d in week["days"]]
    minutes = page.eval_on_selector_all("#outages tbody tr", "els => els.map(e => "
                                        "Number(e.dataset.minutes))")
    assert sorted(minutes) == sorted(o["minutes"] for o in week["outages"])
    assert len(minutes) == fig["outages_last_week"]
    for w in ("hour", "day", "week"):
        assert page.inner_text(f"#obs-{w}") == str(fig[f"observations_last_{w}"])
        assert page.inner_text(f"#out-{w}") == str(fig[f"outages_last_{w}"])
        assert page.inner_text(f"#down-{w}") == f"{report[f'downtime_last_{w}']:.2f}"
    assert page.inner_text("#fig-gap") == f"{fig['longest_gap_minutes_last_week']:.2f}"
    assert page.inner_text("#fig-longest") == f"{fig['longest_outage_minutes_last_week']:.2f}"
    assert page.inner_text("#tz").startswith(doc["timezone"])
    hours = 1 if doc["hours"] is None else len(doc["hours"])
    assert page.locator("#hours li").count() == hours


def _worst_with_outage(fleet: dict) -> str:
    for row in fleet["worst"]:
        if row["downtime_last_week"] > 0:
            return row["store_id"]
    raise AssertionError("no store had downtime in the generated week")


def test_store_page(worker, browser, tmp_path):  # noqa: F811
    replay(worker.env, generate(tmp_path / "data", 40, 8, 9))
    worker.snapshot_csv()  # every poll applied
    problems: list[str] = []
    page = open_dashboard(browser, worker.base_url, problems)
    fleet = get_json(worker.base_url, "/fleet?limit=1000")

    store_id = _worst_with_outage(fleet)  # a click on its row opens its page
    page.fill("#search", store_id)
    page.wait_for_function("document.querySelectorAll('#worst tbody tr').length === 1",
                           timeout=10_000)
    page.click(f"#worst tbody tr[data-store='{store_id}']")
    page.wait_for_url(f"**/static/store.html?id={store_id}", timeout=10_000)
    doc = _doc(worker.base_url, store_id)
    _wait_rendered(page, doc)
    assert doc["figures"]["outages_last_week"] >= 1
    _check_picture(page, doc)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "store-page.png"), full_page=True)

    # the search (Enter) opens another store; a poll produced now appears without a reload
    active, now = open_active_store(worker.base_url)
    page.goto(worker.base_url + "/")
    page.wait_for_selector("#worst tbody tr", timeout=20_000)
    page.fill("#search", active)
    page.press("#search", "Enter")
    page.wait_for_url(f"**/static/store.html?id={active}", timeout=10_000)
    before = _doc(worker.base_url, active)
    _wait_rendered(page, before)
    produce_polls(worker.env, [(active, [(now + 1_000_000, False)])])
    page.wait_for_function(
        f"Number(document.getElementById('timeline').dataset.polls) === "
        f"{len(before['week']['polls']) + 1}", timeout=15_000)
    page.wait_for_function("[...document.querySelectorAll('#outages td')]"
                           ".some(td => td.textContent === 'ongoing')", timeout=15_000)
    time.sleep(0.5)  # nothing else arrives: the page and the API agree on the new state
    after = _doc(worker.base_url, active)
    _wait_rendered(page, after)
    _check_picture(page, after)
    assert page.inner_text("#status").startswith("inactive")
    assert problems == []
