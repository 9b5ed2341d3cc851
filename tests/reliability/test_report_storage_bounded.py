"""10,000 report triggers against a real worker: the reports table and the reports folder
stay bounded (STREAMPROC_REPORTS_MAX finished reports, as many Expired records; older ones
deleted, their records as tombstones), and every trigger still gets its own report
generated (each asks for another as_of, so none is coalesced)."""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from streamproc.sandbox.http import JSON, request
from tests.support.data import generate, replay
from tests.support.worker_fixture import isolated_worker

TRIGGERS = int(os.environ.get("STREAMPROC_TEST_TRIGGERS", "10000"))
KEEP = 40
BASE_US = 1_674_000_000_000_000  # 2023-01-18: every trigger its own as_of (no coalescing)


def _trigger(base: str, i: int) -> str:
    as_of = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(BASE_US / 1e6 + i))
    status, _, raw = request(base, "/trigger_report", "POST",
                             json.dumps({"as_of": as_of}).encode(), JSON, timeout=60)
    assert status == 200, (i, status, raw[:200])
    return json.loads(raw)["report_id"]


def _settled(base: str, timeout: float) -> list[dict]:
    """/reports once nothing runs and the counts are within the bounds (or the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        listing = json.loads(request(base, "/reports?limit=1000")[2])["reports"]
        by = {s: sum(r["status"] == s for r in listing)
              for s in ("Running", "Complete", "Failed", "Expired")}
        done = by["Complete"] + by["Failed"]
        if (by["Running"] == 0 and done <= KEEP and by["Expired"] <= KEEP) \
                or time.monotonic() > deadline:
            return listing
        time.sleep(1)


def test_reports_stay_bounded_after_many_triggers(kafka_broker, tmp_path: Path, say):
    data = generate(tmp_path / "data", 10, 8, 3)
    # retention and the keeping of Expired records long: only the count bounds them here
    env = {"STREAMPROC_REPORTS_MAX": str(KEEP), "STREAMPROC_REPORT_RETENTION_HOURS": "1",
           "STREAMPROC_EXPIRED_KEEP_HOURS": "1", "STREAMPROC_TRIGGER_BURST": "1000000",
           "STREAMPROC_TRIGGER_PER_MINUTE": "1000000", "STREAMPROC_REPORT_MAX_RUNNING": "2"}
    with isolated_worker(kafka_broker, tmp_path, **env) as handle:
        replay(handle.env, data)
        base = handle.base_url
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(lambda i: _trigger(base, i), range(TRIGGERS)))
        triggered_s = time.monotonic() - started
        assert len(set(ids)) == TRIGGERS
        last = ids[-1]
        listing = _settled(base, 900)
        settled_s = time.monotonic() - started
        folder = handle.state_dir / "reports"
        files = [p for p in folder.iterdir() if p.suffix == ".csv"] if folder.is_dir() else []
        status, _, raw = request(base, f"/get_report/{ids[0]}")
    by = {s: sum(r["status"] == s for r in listing)
          for s in ("Running", "Complete", "Failed", "Expired")}
    assert by["Running"] == 0, by
    assert by["Complete"] + by["Failed"] <= KEEP and by["Expired"] <= KEEP, by
    assert len(listing) <= 2 * KEEP and len(files) <= KEEP, (len(listing), len(files))
    assert status == 404, (status, raw[:200])  # the first report's record is gone
    assert by["Complete"] + by["Failed"] == KEEP and by["Expired"] == KEEP, by
    assert last in {r["id"] for r in listing}  # the newest are the ones kept
    say(f"{TRIGGERS} triggers in {triggered_s:.0f} s, all generated and settled after "
        f"{settled_s:.0f} s: {len(listing)} records left ({by}), {len(files)} files "
        f"(bound {KEEP} each); the first report is gone (404)")
