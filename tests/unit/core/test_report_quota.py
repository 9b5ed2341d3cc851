"""Finding 4 of issue 25 (the pure part): reports are kept per principal, so an owner's
triggers expire only that owner's oldest reports, never another owner's or the operator's;
an owner's running generations are capped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from streamproc.core import report_quota
from streamproc.core.report_lifecycle import (
    COMPLETE,
    EXPIRED,
    RUNNING,
    expired_ids,
    new_report_id,
    purge_ids,
)
from streamproc.core.report_quota import Quota

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
QUOTA = Quota(operator_keep=5, owner_keep=3, owner_running=1)


def _done(owner: str, minutes_ago: int, status: str = COMPLETE) -> dict:
    stamp = (NOW - timedelta(minutes=minutes_ago)).isoformat()
    return {"id": new_report_id(), "status": status, "owner": owner,
            "completed": stamp, "expired": stamp}


def test_an_owner_triggering_every_minute_evicts_only_their_own_reports() -> None:
    operator = [_done("operator", 60 + m) for m in range(2)]
    bob = [_done("owner:bob", 50)]
    alice = [_done("owner:alice", m) for m in range(20)]  # newer than all the others
    due = set(expired_ids([*operator, *bob, *alice], NOW, 24 * 3600, QUOTA.keep_for))
    assert due == {r["id"] for r in alice[3:]}


def test_each_principal_keeps_its_own_count() -> None:
    operator = [_done("operator", m) for m in range(7)]
    due = expired_ids(operator, NOW, 24 * 3600, QUOTA.keep_for)
    assert due == [r["id"] for r in operator[5:]]


def test_expired_records_are_purged_per_principal_too() -> None:
    operator = [_done("operator", 30, EXPIRED)]
    alice = [_done("owner:alice", m, EXPIRED) for m in range(6)]
    due = set(purge_ids([*operator, *alice], NOW, 24 * 3600, QUOTA.keep_for))
    assert due == {r["id"] for r in alice[3:]}


def test_a_record_without_owner_is_the_operators() -> None:
    legacy = {"id": new_report_id(), "status": COMPLETE, "completed": NOW.isoformat()}
    assert report_quota.owner_of(legacy) == "operator"


def test_a_number_still_keeps_that_many_of_all() -> None:
    records = [_done("owner:alice", 1), _done("operator", 2), _done("owner:bob", 3)]
    assert expired_ids(records, NOW, 24 * 3600, keep=2) == [records[2]["id"]]


def test_an_owner_at_their_running_cap_is_refused_the_operator_never() -> None:
    running = [{"id": "x", "status": RUNNING, "owner": "owner:alice"}]
    assert report_quota.running_refusal("owner:alice", running, QUOTA) is not None
    assert report_quota.running_refusal("owner:bob", running, QUOTA) is None
    finished = [{"id": "x", "status": COMPLETE, "owner": "owner:alice"}]
    assert report_quota.running_refusal("owner:alice", finished, QUOTA) is None
    many = running * 10
    assert report_quota.running_refusal("operator", many, QUOTA) is None


def test_the_running_status_is_the_lifecycles() -> None:
    assert report_quota.RUNNING == RUNNING
