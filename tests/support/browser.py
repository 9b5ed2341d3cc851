"""Helpers of the browser tests: where screenshots go, and the dashboard opened and ready."""

from __future__ import annotations

from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def open_dashboard(browser, base_url: str, problems: list[str]):
    """The dashboard in a new page, once its table, chart and live feed are up; console
    errors and page errors go to ``problems``."""
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(base_url + "/")
    page.wait_for_function("document.querySelectorAll('#worst tbody tr').length >= 40",
                           timeout=20_000)
    page.wait_for_function("Number(document.getElementById('chart').dataset.hours) === 168",
                           timeout=20_000)
    page.wait_for_function("document.getElementById('conn').classList.contains('on')",
                           timeout=20_000)
    return page
