"""Crash recovery: a worker SIGKILLed mid-replay, and a worker whose RocksDB folder is lost.

After each restart (same environment, same state dir) the worker must recover its tables
(local RocksDB plus the changelog topic), carry on from its committed offsets, and the
final report must equal the batch command's report byte for byte. Recovery times are
printed: kill -> ready (partitions assigned, tables recovered) -> first snapshot served.
"""

from __future__ import annotations

import random
import shutil
import signal
import time

import pytest

from streamproc.sandbox import run_cli
from tests.support.data import SOURCES, replay_args
from tests.support.reliability import (
    FAST_FAILOVER,
    Background,
    first_diff,
    kill_and_restart,
    snapshot,
)
from tests.support.worker_fixture import isolated_worker

KILLS = 3
SEED = 20240607


def replay_polls(data) -> int:
    with (data / SOURCES[0]).open("rb") as f:
        return sum(1 for _ in f) - 1


@pytest.mark.timeout(240)
def test_sigkill_mid_replay_several_times(kafka_broker, dataset, expected, tmp_path, say):
    rng = random.Random(SEED)
    with isolated_worker(kafka_broker, tmp_path, **FAST_FAILOVER) as handle:
        # 8 event days at 3 event hours per second: ~64 s of replay, one message per store
        # per 50 ms slice, so the worker is always in the middle of something when killed.
        replay = Background(handle.env, replay_args(dataset, None, "--speed", "10800"),
                            tmp_path / "replay.log")
        applied = 0  # polls applied over the worker's lives (the counter restarts with it)
        try:
            say(f"replay --speed 10800 of 200 stores x 8 days; {KILLS} SIGKILLs, seed {SEED}")
            for i in range(KILLS):
                time.sleep(rng.uniform(1.0, 6.0))
                before = handle.health()
                applied += before["polls_applied"]
                at = time.monotonic() - replay.started
                running = replay.running()
                rec = kill_and_restart(handle)
                after = handle.health()
                say(f"kill {i + 1}: at {at:5.1f}s into the replay (replay running={running}), "
                    f"{before['polls_applied']} polls applied by this life; ready after "
                    f"{rec.killed_to_ready:.1f}s, snapshot ok after "
                    f"{rec.killed_to_snapshot:.1f}s; {after['assigned_partitions']} partitions")
            code = replay.wait(180)
            assert code == 0, replay.output()
            started = time.monotonic()
            final = snapshot(handle)
            applied += handle.health()["polls_applied"]
            say(f"final snapshot after {time.monotonic() - started:.1f}s: "
                f"{len(final.splitlines()) - 1} stores; polls applied over all lives >= "
                f"{applied} for {replay_polls(dataset)} in the file (the excess was "
                f"re-delivered after the kills and changed nothing); equal to batch: "
                f"{final == expected}")
            assert final == expected, first_diff(final, expected)
        finally:
            replay.stop()


@pytest.mark.timeout(180)
def test_rocksdb_folder_lost_rebuilt_from_changelog(kafka_broker, dataset, expected, tmp_path,
                                                    say):
    with isolated_worker(kafka_broker, tmp_path) as handle:
        run_cli(handle.env, *replay_args(dataset, None, "--chunk-rows", "5000"))
        first = snapshot(handle)
        assert first == expected, first_diff(first, expected)
        rocks = tmp_path / "state" / "worker"
        size = sum(f.stat().st_size for f in rocks.rglob("*") if f.is_file())

        def lose_disk() -> None:
            shutil.rmtree(rocks)

        rec = kill_and_restart(handle, signal.SIGTERM, before_start=lose_disk)
        rebuilt = snapshot(handle)
        after = handle.health()
        say(f"stopped (SIGTERM), deleted {rocks.name}/ ({size / 1e6:.1f} MB of RocksDB), "
            f"restarted: ready after {rec.killed_to_ready:.1f}s, snapshot after "
            f"{rec.killed_to_snapshot:.1f}s; {after['stores_live']} stores live; "
            f"report equal to batch: {rebuilt == expected}")
        assert rocks.is_dir() and any(rocks.rglob("*")), "RocksDB folder was not recreated"
        assert rebuilt == expected, first_diff(rebuilt, expected)

        # the same after a crash: SIGKILL, then the folder is lost too
        rec = kill_and_restart(handle, signal.SIGKILL, before_start=lose_disk)
        again = snapshot(handle)
        say(f"SIGKILL + deleted RocksDB: snapshot after {rec.killed_to_snapshot:.1f}s "
            f"(includes the dead member's session timeout); equal: {again == expected}")
        assert again == expected, first_diff(again, expected)
