"""Two workers share the partitions; a report from either one covers every store."""

from __future__ import annotations

import pytest

from streamproc.sandbox import wait_for
from tests.support.data import batch_report, generate, replay
from tests.support.worker_fixture import peer_worker


@pytest.fixture
def two_workers(worker_env, tmp_path):
    handles = [peer_worker(worker_env, tmp_path, name) for name in ("a", "b")]
    try:
        for handle in handles:
            handle.start()
        yield handles
    finally:
        for handle in handles:
            handle.kill()


def _wait_split(handles, timeout=60.0):
    """Wait until both workers hold some partitions (the rebalance has settled)."""

    def split():
        docs = [h.health() for h in handles]
        counts = [d["assigned_partitions"] for d in docs]
        return counts if all(counts) and not any(d["recovering"] for d in docs) else None

    return wait_for(split, timeout, "partitions to split between the workers", every=0.5)


def test_report_from_either_worker_covers_all_stores(two_workers, tmp_path):
    data = generate(tmp_path / "data", 150, 8, 21)
    print("partitions per worker:", _wait_split(two_workers))
    replay(two_workers[0].env, data)
    expected = batch_report(data, tmp_path / "batch.csv")
    for handle in two_workers:
        assert handle.snapshot_csv() == expected
