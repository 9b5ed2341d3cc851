"""Reports through any worker: trigger on one, get on another, every combination gives the
same answers; a finished report outlives the kill -9 of the worker that made it."""

from __future__ import annotations

import json
import signal

from streamproc.sandbox import wait_for
from streamproc.sandbox.http import request, trigger_report, wait_report
from tests.support.data import batch_report, generate, replay


def _status(base: str, path: str) -> tuple[int, str | None, bytes]:
    status, headers, body = request(base, path, timeout=30)
    return status, headers.get("X-Report-Status"), body


def test_every_trigger_get_combination_completes(pair, tmp_path):
    data = generate(tmp_path / "data", 120, 8, 33)
    replay(pair[0].env, data)
    expected = batch_report(data, tmp_path / "batch.csv").encode()
    for trigger_on in pair:
        for get_on in pair:
            report_id = trigger_report(trigger_on.base_url)
            assert wait_report(get_on.base_url, report_id, timeout=90) == expected
    listings = [json.loads(_status(h.base_url, "/reports")[2])["reports"] for h in pair]
    assert listings[0] == listings[1] and len(listings[0]) == 4
    answers = {h.base_url: _status(h.base_url, f"/get_report/{'A' * 22}")[0] for h in pair}
    assert set(answers.values()) == {404}, answers


def test_a_report_outlives_the_worker_that_made_it(pair, tmp_path):
    data = generate(tmp_path / "data", 80, 8, 34)
    replay(pair[0].env, data)
    expected = batch_report(data, tmp_path / "batch.csv").encode()
    report_id = trigger_report(pair[0].base_url)
    assert wait_report(pair[1].base_url, report_id, timeout=90) == expected
    owner = next(h for h in pair if (h.state_dir / "reports" / f"{report_id}.csv").exists())
    survivor = pair[1] if owner is pair[0] else pair[0]
    owner.kill(signal.SIGKILL)

    def served() -> bytes | None:
        status, report_status, body = _status(survivor.base_url, f"/get_report/{report_id}")
        assert status in (200, 503), (status, body[:300])
        return body if status == 200 and report_status == "Complete" else None

    assert wait_for(served, 120, "the report from the surviving worker", every=1.0) == expected
    json_status, _, body = _status(survivor.base_url, f"/get_report/{report_id}?format=json")
    assert json_status == 200 and len(json.loads(body)["report"]) == 80
