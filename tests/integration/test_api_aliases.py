"""The calls clients of the store-monitor services this one replaces make work unchanged:
dashed routes, the id in a POST body (JSON or form), ``?format=csv|json`` on either."""

from __future__ import annotations

import json

from streamproc.sandbox.http import JSON, request, wait_report
from tests.support.data import batch_report, generate, replay

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_drop_in_calls(worker, tmp_path):
    data = generate(tmp_path / "data", 30, 8, 5)
    replay(worker.env, data)
    expected = batch_report(data, tmp_path / "batch.csv").encode()
    base = worker.base_url
    status, _, body = request(base, "/trigger-report", "POST", b"", JSON)
    assert status == 200, body
    report_id = json.loads(body)["report_id"]
    assert wait_report(base, report_id, 90) == expected
    calls = [
        (f"/get-report/{report_id}", "GET", None, {}),
        (f"/get-report?report_id={report_id}", "GET", None, {}),
        ("/get_report", "POST", json.dumps({"report_id": report_id}).encode(), JSON),
        ("/get-report", "POST", f"report_id={report_id}".encode(), FORM),
    ]
    for path, method, payload, headers in calls:
        status, got_headers, body = request(base, path, method, payload, headers)
        assert (status, got_headers.get("X-Report-Status")) == (200, "Complete"), (path, body)
        assert body == expected, path
        sep = "&" if "?" in path else "?"
        status, _, body = request(base, path + sep + "format=json", method, payload, headers)
        assert status == 200 and len(json.loads(body)["report"]) == 30, (path, body[:200])
    status, _, body = request(base, "/get_report", "POST", b'{"report_id": 7}', JSON)
    assert status == 400 and b"report_id" in body
    status, _, body = request(base, "/get-report", "POST", b"other=1", FORM)
    assert status == 400 and b"report_id is required" in body
