"""The report lifecycle as a pure function (streamproc.core.report_lifecycle)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streamproc.core.report_lifecycle import (
    COMPLETE,
    DELETE_FILE,
    DELETE_RECORD,
    EXPIRED,
    FAILED,
    FORGET_LOCAL,
    GENERATE,
    IGNORE,
    MAX_ATTEMPTS,
    NOTHING,
    RUNNING,
    STORE_CHUNK,
    Step,
    next_step,
)

RID = "A" * 22
NOW = "2026-12-01T00:00:00.000Z"
DONE = {"type": "done", "rows": 3, "now": "2023-01-25T18:00:00Z", "seconds": 0.2,
        "completed": "2026-12-01T00:00:01.000Z", "chunks": 2}
CHUNK = {"type": "chunk", "n": 0, "data": "store_id,..."}


def step(record, message, running_here=False):
    return next_step(RID, record, message, running_here=running_here, now_iso=NOW)


def _new_record(attempts: int = 1) -> dict:
    record = step(None, {"type": "request", "created": "c", "as_of": 5}).record
    return {**record, "attempts": attempts}


def test_request_records_running_and_generates_at_its_as_of() -> None:
    s = step(None, {"type": "request", "created": "c", "as_of": 1_674_669_600_000_000})
    assert s.action == GENERATE and s.as_of_us == 1_674_669_600_000_000
    assert s.record["id"] == RID and s.record["status"] == RUNNING
    assert s.record["attempts"] == 1 and s.record["as_of"] == "2023-01-25T18:00:00.000000Z"


def test_request_twice_does_nothing_while_it_runs_here() -> None:
    record = _new_record()
    for kind in ("request", "resume"):
        s = step(record, {"type": kind}, running_here=True)
        assert s.record is None and s.action == NOTHING


def test_resume_without_a_record_is_ignored() -> None:
    assert step(None, {"type": "resume"}).record is None


def test_resume_generates_again_then_fails_after_max_attempts() -> None:
    s = step(_new_record(1), {"type": "resume"})
    assert s.action == GENERATE and s.record["attempts"] == 2 and s.as_of_us == 5
    last = step(_new_record(MAX_ATTEMPTS), {"type": "resume"})
    assert last.action == NOTHING and last.record["status"] == FAILED
    assert "interrupted" in last.record["error"] and last.record["completed"] == NOW


def test_done_completes_and_a_duplicate_changes_nothing() -> None:
    s = step(_new_record(), DONE)
    assert s.record["status"] == COMPLETE and s.record["rows"] == 3
    assert s.action == FORGET_LOCAL
    again = step(s.record, {"type": "failed", "error": "late"})
    assert again.record is None and again.action == FORGET_LOCAL


def test_chunks_are_kept_while_running_only() -> None:
    assert step(_new_record(), CHUNK).action == STORE_CHUNK
    done = step(_new_record(), DONE).record
    assert done["chunks"] == 2
    late = step(done, CHUNK)
    assert late.record is None and late.action == NOTHING
    expired = step(done, {"type": "expire"}).record
    assert step(expired, CHUNK).action == NOTHING


def test_malformed_chunks_are_ignored() -> None:
    for bad in ({"type": "chunk", "n": -1, "data": ""}, {"type": "chunk", "n": "0", "data": ""},
                {"type": "chunk", "n": 0, "data": b"x"}, {"type": "chunk"}):
        assert step(_new_record(), bad).action == IGNORE


def test_failed_records_the_error() -> None:
    s = step(_new_record(), {"type": "failed", "error": "boom", "completed": "t"})
    assert (s.record["status"], s.record["error"], s.record["completed"]) == (FAILED, "boom", "t")


def test_outcome_before_the_request_still_records_it() -> None:
    s = step(None, DONE)
    assert s.record["id"] == RID and s.record["status"] == COMPLETE


def test_expire_only_finished_reports_and_deletes_the_file() -> None:
    assert step(_new_record(), {"type": "expire"}).record is None
    done = step(_new_record(), DONE).record
    s = step(done, {"type": "expire"})
    assert s.action == DELETE_FILE and s.record["status"] == EXPIRED and s.record["expired"] == NOW


def test_purge_deletes_only_expired_records() -> None:
    done = step(_new_record(), DONE).record
    assert step(done, {"type": "purge"}) == Step(None)
    assert step(None, {"type": "purge"}) == Step(None)
    expired = step(done, {"type": "expire"}).record
    assert step(expired, {"type": "purge"}) == Step(None, DELETE_RECORD)


def test_unknown_and_malformed_messages_are_ignored_with_a_reason() -> None:
    for message in ({"type": "nope"}, [], None, "x"):
        s = step(None, message)
        assert s.record is None and s.action == IGNORE and s.reason
    s = step(None, {"type": "request", "as_of": "soon"})
    assert s.action == IGNORE and "as_of" in s.reason


MESSAGES = st.sampled_from([
    {"type": "request", "created": "c", "as_of": None}, {"type": "resume"}, DONE, CHUNK,
    {"type": "failed", "error": "e", "completed": "t"}, {"type": "expire"},
])


@given(st.lists(MESSAGES, max_size=12))
def test_a_finished_report_never_runs_again(messages: list[dict]) -> None:
    """Whatever order or repetition the messages come in (redelivery after a crash)."""
    record, finished = None, False
    for message in messages:
        s = step(record, message)
        if s.record is not None:
            record = s.record
        if finished:
            assert record["status"] in (COMPLETE, FAILED, EXPIRED)
            assert s.action not in (GENERATE, STORE_CHUNK)
        finished = finished or (record is not None and record["status"] != RUNNING)
