"""Optional report columns end to end (issue 17, part 3): ``{"columns": [...]}`` on trigger
gives the contract's seven columns plus those asked for, byte for byte what
``streamproc report --columns`` gives on the same files; an unknown column is a 400."""

from __future__ import annotations

import json

from streamproc.core.report_rows import HEADER, OPTIONAL_COLUMNS
from streamproc.sandbox.http import JSON, request, wait_report
from tests.support.data import batch_report, generate, replay

COLUMNS = ["outages_last_week", "observations_last_day", "longest_gap_minutes_last_week",
           "longest_outage_minutes_last_week"]


def _trigger(base: str, body: dict) -> tuple[int, dict]:
    status, _, raw = request(base, "/trigger_report", "POST", json.dumps(body).encode(), JSON)
    return status, json.loads(raw)


def test_columns_on_trigger_equal_the_batch_command(worker, tmp_path):
    data = generate(tmp_path / "data", 40, 8, 11)
    replay(worker.env, data)
    base = worker.base_url
    expected = batch_report(data, tmp_path / "batch.csv", "--columns", ",".join(COLUMNS))
    assert expected.splitlines()[0] == ",".join([HEADER, *COLUMNS])
    status, doc = _trigger(base, {"columns": COLUMNS})
    assert status == 200, doc
    assert wait_report(base, doc["report_id"], 90).decode() == expected
    status, _, raw = request(base, f"/get_report/{doc['report_id']}?format=json")
    rows = json.loads(raw)["report"]
    assert status == 200 and len(rows) == 40
    assert all(isinstance(r["outages_last_week"], int) for r in rows)
    # every column at once, and the default stays exactly the contract's seven
    status, doc = _trigger(base, {"columns": list(OPTIONAL_COLUMNS)})
    assert status == 200
    every = batch_report(data, tmp_path / "all.csv", "--columns", ",".join(OPTIONAL_COLUMNS))
    assert wait_report(base, doc["report_id"], 90).decode() == every
    status, doc = _trigger(base, {})
    plain = wait_report(base, doc["report_id"], 90).decode()
    assert plain.splitlines()[0] == HEADER and plain == batch_report(data, tmp_path / "p.csv")


def test_unknown_column_is_a_400_with_the_reason(worker):
    for columns, reason in ((["uptime_per_fortnight"], "unknown column 'uptime_per_fortnight'"),
                            (["store_id"], "always in the report"),
                            ("outages_last_week", "list of column names"),
                            (["outages_last_week"] * 2, "twice")):
        status, doc = _trigger(worker.base_url, {"columns": columns})
        assert status == 400 and reason in doc["error"], (columns, doc)


def test_columns_assembled_from_two_workers(pair, tmp_path):  # noqa: F811
    """Each worker evaluates the figures of its own stores (``/internal/rows`` with
    ``figures``); the assembled report is the batch command's."""
    data = generate(tmp_path / "data", 80, 8, 12)
    replay(pair[0].env, data)
    expected = batch_report(data, tmp_path / "batch.csv", "--columns", ",".join(COLUMNS))
    for handle in pair:
        status, doc = _trigger(handle.base_url, {"columns": COLUMNS})
        assert status == 200, doc
        assert wait_report(pair[1].base_url, doc["report_id"], 90).decode() == expected
