"""Two workers share the partitions; a report from either one covers every store."""

from __future__ import annotations

import os
import time

import pytest

from tests.fixtures_worker import WorkerHandle, free_port, run_cli


@pytest.fixture
def two_workers(worker_env, tmp_path):
    handles = []
    for name in ("a", "b"):
        env = dict(worker_env)
        env["STREAMPROC_WEB_PORT"] = str(free_port())
        env["STREAMPROC_STATE_DIR"] = str(tmp_path / f"state-{name}")
        handles.append(WorkerHandle(env, tmp_path / f"worker-{name}.log"))
    for handle in handles:
        handle.start()
    try:
        yield handles
    finally:
        for handle in handles:
            handle.kill()


def _wait_split(handles, timeout=60.0):
    """Wait until both workers hold some partitions (the rebalance has settled)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = [h.get_json("/health")["assigned_partitions"] for h in handles]
        if all(counts) and not any(h.get_json("/health")["recovering"] for h in handles):
            return counts
        time.sleep(0.5)
    raise AssertionError(f"partitions never split between the workers: {counts}")


def test_report_from_either_worker_covers_all_stores(two_workers, tmp_path):
    data = tmp_path / "data"
    run_cli(dict(os.environ), "generate", "--stores", "150", "--days", "8", "--seed", "21",
            "--out", str(data))
    files = [str(data / n) for n in ("store_status.csv", "menu_hours.csv", "timezones.csv")]
    print("partitions per worker:", _wait_split(two_workers))
    run_cli(two_workers[0].env, "replay", "--polls", files[0], "--hours", files[1],
            "--timezones", files[2])
    batch = tmp_path / "batch.csv"
    run_cli(dict(os.environ), "report", "--polls", files[0], "--hours", files[1],
            "--timezones", files[2], "--out", str(batch))
    expected = batch.read_text()
    for handle in two_workers:
        assert handle.snapshot_csv() == expected
