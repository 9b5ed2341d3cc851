"""The store page's 8-week trend and alert history (issue 26) in headless Chromium on a real
worker: 10 weeks of polls replayed a week at a time (so each closed week is kept before its
polls leave the 8-day horizon), the page's bars and table equal ``/stores/{id}``'s trend,
the closed weeks come from the kept ``store-weeks`` table, and the alerts listed are the
store's history."""

from __future__ import annotations

import csv
import time
from datetime import UTC, datetime
from pathlib import Path

from streamproc.core.trends import week_of, week_start
from streamproc.sandbox import WorkerProcess
from streamproc.sandbox.http import get_json
from tests.support.browser import ARTIFACTS
from tests.support.data import generate, replay
from tests.support.live import produce_polls
from tests.support.receivers import HttpReceiver

DAYS = 70


def _us(text: str) -> int:
    stamp = datetime.strptime(text.replace(" UTC", ""), "%Y-%m-%d %H:%M:%S.%f")
    return int(stamp.replace(tzinfo=UTC).timestamp() * 1_000_000)


def _weekly_chunks(data: Path, out: Path) -> list[Path]:
    """The polls split at Monday 12:00 UTC: after each chunk the week before has closed and
    its polls are all still within the horizon."""
    with (data / "store_status.csv").open() as f:
        reader = csv.reader(f)
        header = next(reader)
        chunks: dict[int, list[list[str]]] = {}
        for row in reader:
            ts = _us(row[2]) if len(row) > 2 else 0
            chunks.setdefault(week_of(ts - 12 * 3600 * 1_000_000), []).append(row)
    paths = []
    for week in sorted(chunks):
        path = out / f"polls-{week}.csv"
        with path.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(chunks[week])
        paths.append(path)
    return paths


def test_store_page_shows_eight_weeks_of_trend_and_the_alerts(browser, worker_env,
                                                             tmp_path) -> None:
    data = generate(tmp_path / "data", 6, DAYS, 4)
    header = (data / "store_status.csv").open().readline().strip().split(",")
    assert header[2] == "timestamp_utc", header
    chunks = _weekly_chunks(data, tmp_path)
    receiver = HttpReceiver()
    channels = tmp_path / "channels.toml"
    channels.write_text(f'[operator]\nurls = ["{receiver.url("json", "ops")}"]\n')
    env = dict(worker_env, STREAMPROC_TREND_CHECK_S="0.5", STREAMPROC_ALERT_AFTER="2",
               STREAMPROC_CHANNELS_FILE=str(channels))
    with WorkerProcess(env, tmp_path / "worker.log").running() as worker:
        for chunk in chunks:
            replay(env, data, "--polls", str(chunk))
            worker.snapshot_csv()  # every poll applied
            time.sleep(1.5)  # a look of the trends timer
        stores = sorted({r[0] for r in csv.reader((data / "store_status.csv").open())} -
                        {"store_id"})
        docs = {s: get_json(worker.base_url, f"/stores/{s}") for s in stores}
        open_now = [s for s in stores if docs[s]["open_now"]]
        assert open_now, "a store open at the watermark"
        store_id = max(open_now, key=lambda s: sum(w["kept"] for w in docs[s]["trend"]))
        # an outage now, so the store has an alert to list (down 3 business minutes)
        now = docs[store_id]["watermark_us"]
        produce_polls(env, [(store_id, [(now + 60_000_000, False)])])
        produce_polls(env, [(store_id, [(now + 240_000_000, False)])])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not get_json(
                worker.base_url, f"/stores/{store_id}/alerts")["alerts"]:
            time.sleep(0.5)
        doc = get_json(worker.base_url, f"/stores/{store_id}")
        trend = doc["trend"]
        assert len(trend) == 8 and trend[-1]["partial"]
        assert [t["week_start_us"] for t in trend] == [
            week_start(week_of(doc["watermark_us"]) - 7 + k) for k in range(8)]
        kept = [t for t in trend if t["kept"]]
        assert len(kept) >= 7, "the closed weeks beyond the horizon come from the table"
        assert all(t["uptime_percent"] is not None for t in kept)
        history = get_json(worker.base_url, f"/stores/{store_id}/alerts")["alerts"]

        page = browser.new_page(viewport={"width": 1300, "height": 1400})
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{worker.base_url}/static/store.html?id={store_id}")
        page.wait_for_function("document.querySelectorAll('#trend tbody tr').length === 8",
                               timeout=20_000)
        bars = page.eval_on_selector_all(
            "#trend-chart rect.trend-bar",
            "els => els.map(e => e.dataset.pct === '' ? null : Number(e.dataset.pct))")
        latest = get_json(worker.base_url, f"/stores/{store_id}")["trend"]
        assert bars == [t["uptime_percent"] for t in latest]
        cells = page.eval_on_selector_all("#trend tbody tr td:nth-child(2)",
                                          "els => els.map(e => e.textContent)")
        assert cells == [("-" if t["uptime_percent"] is None else f"{t['uptime_percent']:.2f}")
                         for t in reversed(latest)], "newest first"
        assert history, "the outage made now was alerted"
        page.wait_for_function(
            f"document.querySelectorAll('#alerts tbody tr').length === {len(history)}",
            timeout=20_000)
        first = page.inner_text("#alerts tbody tr:first-child td:first-child")
        assert first == history[0]["type"].replace("_", " ")
        assert page.is_hidden("#no-alerts")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "store-trend.png"), full_page=True)
        assert problems == []
