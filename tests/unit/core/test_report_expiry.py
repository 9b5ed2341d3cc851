"""Which finished reports are past their retention (the pure part of report expiry)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from streamproc.core.report_lifecycle import (
    COMPLETE,
    EXPIRED,
    FAILED,
    RUNNING,
    expired_ids,
    new_report_id,
    purge_ids,
    stale_files,
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


def test_beyond_the_newest_keep_finished_reports_expire_early():
    records = [_record(COMPLETE, timedelta(minutes=m)) for m in (5, 1, 9, 3, 7)]
    # newest first: 1, 3, 5, 7, 9 minutes ago; keep 2 -> the 5, 7 and 9 minute ones go
    due = expired_ids(records, NOW, 2 * HOUR, keep=2)
    assert due == [records[0]["id"], records[2]["id"], records[4]["id"]]
    assert expired_ids(records, NOW, 2 * HOUR, keep=10) == []


def test_expired_records_are_purged_after_as_long_again_or_beyond_keep():
    def expired(ago: timedelta) -> dict:
        return {"id": new_report_id(), "status": EXPIRED,
                "expired": (NOW - ago).isoformat().replace("+00:00", "Z")}

    old, recent, newer = expired(timedelta(hours=3)), expired(timedelta(hours=1)), expired(
        timedelta(minutes=1))
    done = _record(COMPLETE, timedelta(days=9))
    assert purge_ids([old, recent, newer, done], NOW, 2 * HOUR) == [old["id"]]
    assert purge_ids([old, recent, newer, done], NOW, 2 * HOUR, keep=1) == [old["id"],
                                                                            recent["id"]]


@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)), max_size=60),
       st.integers(1, 20), st.integers(0, 10**6))
def test_tables_stay_bounded_whatever_the_triggers(times, keep, age_s):
    """After expire + purge, at most ``keep`` finished and ``keep`` Expired records remain."""
    records = [{"id": new_report_id(), "status": COMPLETE,
                "completed": (NOW - timedelta(seconds=a)).isoformat()} for a, _ in times]
    gone = set(expired_ids(records, NOW, age_s, keep))
    kept = [r for r in records if r["id"] not in gone]
    assert len(kept) <= keep
    assert all((NOW - datetime.fromisoformat(r["completed"])).total_seconds() <= age_s
               for r in kept)
    marked = [{"id": r["id"], "status": EXPIRED,
               "expired": (NOW - timedelta(seconds=b)).isoformat()}
              for r, (_, b) in zip(records, times, strict=True) if r["id"] in gone]
    assert len(marked) - len(purge_ids(marked, NOW, age_s, keep)) <= keep


def test_stale_files_by_age_and_count():
    files = [(f"{i}.csv", 1000.0 - i) for i in range(10)]  # 0.csv newest
    assert stale_files(files, 1000.0, 5.5, 100) == [f"{i}.csv" for i in range(6, 10)]
    assert stale_files(files, 1000.0, 1e9, 3) == [f"{i}.csv" for i in range(3, 10)]
    assert stale_files([], 0.0, 1.0, 1) == []
