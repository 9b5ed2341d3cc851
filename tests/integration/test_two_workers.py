"""Two workers share the partitions; a report from either one covers every store."""

from __future__ import annotations

import pytest

from tests.support.data import batch_report, generate, replay
from tests.support.worker_fixture import started_peers, wait_split


@pytest.fixture
def two_workers(worker_env, tmp_path):
    with started_peers(worker_env, tmp_path, "ab") as handles:
        yield handles


def test_report_from_either_worker_covers_all_stores(two_workers, tmp_path):
    data = generate(tmp_path / "data", 150, 8, 21)
    print("partitions per worker:", wait_split(two_workers, 60))
    replay(two_workers[0].env, data)
    expected = batch_report(data, tmp_path / "batch.csv")
    for handle in two_workers:
        assert handle.snapshot_csv() == expected
