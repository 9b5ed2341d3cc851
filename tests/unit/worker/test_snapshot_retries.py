"""A snapshot rides through a moving assignment: an attempt is abandoned the moment the
group rebalances and retried against the new assignment; it fails only after the stated
bound passed without a change and without success (streamproc.worker.cluster.Cluster
.snapshot, streamproc.core.coverage.StabilityWait)."""

from __future__ import annotations

import asyncio

import pytest

from streamproc.config import Settings
from streamproc.core.coverage import StabilityWait
from streamproc.worker.cluster import AssignmentChanged, Cluster
from streamproc.worker.snapshot import Snapshot, SnapshotTimeout

DONE = Snapshot([], None, 0.0, 0.0)


def _cluster(bound_s: float) -> Cluster:
    return Cluster(Settings(report_unstable_s=bound_s), app=None, processor=None)


def test_the_wait_restarts_with_every_change_of_the_assignment() -> None:
    wait = StabilityWait(60.0, epoch=3, since=100.0)
    assert not wait.exhausted(160.0) and wait.exhausted(160.5)
    wait.note(3, 150.0)  # same assignment: the clock runs on
    assert wait.exhausted(160.5)
    wait.note(5, 150.0)  # a worker left: progress
    assert not wait.exhausted(209.0) and wait.exhausted(210.5)


def test_an_attempt_waiting_on_a_departing_peer_is_retried_when_the_group_rebalances(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The first attempt hangs (a peer shutting down holds its catch-up request open); the
    rebalance its departure causes cancels it, and the second attempt succeeds, well before
    any timeout of the hanging request."""

    async def run() -> tuple[Snapshot, list[str], float]:
        pipeline = _cluster(bound_s=30.0)
        calls: list[str] = []

        async def attempt(as_of, timeout, figures, stores=None) -> Snapshot:
            calls.append("attempt")
            if len(calls) == 1:
                await asyncio.sleep(3600)  # the departing peer never answers
            return DONE

        monkeypatch.setattr(pipeline, "_snapshot_once", attempt)
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, pipeline.reassigned)  # the peer's LeaveGroup: a rebalance
        started = loop.time()
        snap = await asyncio.wait_for(pipeline.snapshot(timeout=120.0), 10)
        return snap, calls, loop.time() - started

    snap, calls, took = asyncio.run(run())
    assert snap is DONE and calls == ["attempt", "attempt"]
    assert took < 2.0


def test_retries_go_on_while_the_assignment_keeps_changing_then_fail_naming_the_bound(
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def run(changes: int) -> tuple[object, int]:
        pipeline = _cluster(bound_s=0.6)
        calls = []

        async def attempt(as_of, timeout, figures, stores=None) -> Snapshot:
            calls.append(1)
            if len(calls) <= changes:
                pipeline.epoch += 2  # revoked and assigned again: progress
            raise AssignmentChanged("partitions [3] have no worker right now")

        monkeypatch.setattr(pipeline, "_snapshot_once", attempt)
        try:
            return await pipeline.snapshot(timeout=5.0), len(calls)
        except SnapshotTimeout as exc:
            return exc, len(calls)

    outcome, calls = asyncio.run(run(changes=4))
    assert isinstance(outcome, SnapshotTimeout)
    assert "within 1 s (STREAMPROC_REPORT_UNSTABLE_S)" in str(outcome)
    assert "partitions [3] have no worker" in str(outcome)
    # 4 changes, each restarting the 0.6 s clock: more attempts than 0.6 s alone allows
    assert calls > 4
