"""Optional report columns through the lifecycle (a request keeps its columns across a
resume), the JSON form of a report, and `streamproc report --columns`."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from streamproc.cli import report as report_cli
from streamproc.core.report_lifecycle import FAILED, GENERATE, csv_to_json_rows, next_step
from streamproc.core.report_rows import HEADER

RID = "B" * 22
COLS = ["outages_last_day", "longest_gap_minutes_last_week"]


def step(record, message):
    return next_step(RID, record, message, running_here=False, now_iso="2026-12-01T00:00:00Z")


def test_request_columns_reach_generation_and_survive_a_resume():
    first = step(None, {"type": "request", "created": "c", "as_of": None, "columns": COLS})
    assert (first.action, first.columns, first.record["columns"]) == (GENERATE, tuple(COLS), COLS)
    again = step(first.record, {"type": "resume"})
    assert (again.action, again.columns) == (GENERATE, tuple(COLS))
    plain = step(None, {"type": "request", "created": "c", "as_of": None})
    assert plain.columns == () and "columns" not in plain.record


def test_a_request_with_bad_columns_is_recorded_failed():
    s = step(None, {"type": "request", "created": "c", "columns": ["nope"]})
    assert s.record["status"] == FAILED and "unknown column" in s.record["error"]


def test_json_rows_keep_counts_as_integers():
    text = f"{HEADER},{','.join(COLS)}\n7,60.00,24.00,168.00,0.00,0.00,0.00,0,12.50\n"
    (row,) = csv_to_json_rows(text)
    assert row["outages_last_day"] == 0 and isinstance(row["outages_last_day"], int)
    assert row["longest_gap_minutes_last_week"] == 12.5
    with pytest.raises(ValueError):
        csv_to_json_rows(f"{HEADER},bogus\n")


def _files(tmp: Path) -> dict[str, Path]:
    (tmp / "p.csv").write_text("store_id,status,timestamp_utc\n"
                               "1,active,2023-01-25 10:00:00 UTC\n"
                               "1,inactive,2023-01-25 12:00:00 UTC\n"
                               "1,active,2023-01-25 14:00:00 UTC\n")
    (tmp / "h.csv").write_text("store_id,dayOfWeek,start_time_local,end_time_local\n")
    (tmp / "t.csv").write_text("store_id,timezone_str\n")
    return {"polls": tmp / "p.csv", "hours": tmp / "h.csv", "timezones": tmp / "t.csv"}


def _run(tmp: Path, columns: str) -> int:
    args = argparse.Namespace(**_files(tmp), out=tmp / "out.csv", as_of=None, rejects=None,
                              columns=columns, special_hours=None)
    return report_cli.run(args)


def test_cli_columns(tmp_path, capsys):
    assert _run(tmp_path, ",".join(COLS)) == 0
    header, line = (tmp_path / "out.csv").read_text().splitlines()
    assert header == f"{HEADER},{','.join(COLS)}"
    # down from the midpoint 11:00 to 13:00; the longest gap: the week start to 10:00
    assert line.split(",")[7:] == ["1", f"{(7 * 24 - 4) * 60}.00"]
    assert _run(tmp_path, "") == 0
    assert (tmp_path / "out.csv").read_text().splitlines()[0] == HEADER
    assert _run(tmp_path, "observations_last_day,fortnight") == 2
    assert "unknown column 'fortnight'" in capsys.readouterr().err
