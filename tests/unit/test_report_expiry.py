"""Which finished reports are past their retention (the pure part of report expiry)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from streamproc.core.report_lifecycle import (
    COMPLETE,
    EXPIRED,
    FAILED,
    RUNNING,
    expired_ids,
    new_report_id,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HOUR = 3600.0


def _record(status: str, finished_ago: timedelta | None, **extra) -> dict:
    record = {"id": new_report_id(), "status": status, **extra}
    if finished_ago is not None:
        record["completed"] = (NOW - finished_ago).isoformat().replace("+00:00", "Z")
    return record


def test_only_finished_reports_past_the_retention_expire():
    old_done = _record(COMPLETE, timedelta(hours=3))
    old_failed = _record(FAILED, timedelta(hours=2, seconds=1))
    fresh = _record(COMPLETE, timedelta(hours=1))
    on_the_edge = _record(COMPLETE, timedelta(hours=2))
    running = _record(RUNNING, None, created="2020-01-01T00:00:00Z")
    already = _record(EXPIRED, timedelta(days=30))
    records = [old_done, old_failed, fresh, on_the_edge, running, already]
    assert expired_ids(records, NOW, 2 * HOUR) == [old_done["id"], old_failed["id"]]


def test_unreadable_records_are_left_alone():
    bad_time = _record(COMPLETE, None, completed="yesterday")
    no_time = _record(COMPLETE, None)
    bad_id = {"id": "../../etc/passwd", "status": COMPLETE, "completed": "2000-01-01T00:00:00Z"}
    naive = _record(COMPLETE, None, completed="2026-11-23T08:00:00")  # read as UTC
    assert expired_ids([bad_time, no_time, bad_id, naive], NOW, 2 * HOUR) == [naive["id"]]
