"""Several workers share the partitions (same app id and topics, own web ports and state).

Two workers split the partitions and both process; one is SIGKILLed mid-way and the other
takes its partitions over (rebalance) and carries on; a third joins and the load spreads
again. Every report, from any worker, is complete and equal to the batch command's report.
Standby replicas (``table_standby_replicas=1``) are observed on disk: before the kill, the
survivor already holds a RocksDB copy of the partitions it does not own.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from streamproc.sandbox import WorkerProcess, isolated_env, run_cli, wait_for
from tests.support.data import SOURCES, replay_args
from tests.support.reliability import FAST_FAILOVER, first_diff, owned_partitions, snapshot
from tests.support.worker_fixture import peer_worker


def _spread(handles: list[WorkerProcess], partitions: int, timeout: float = 90.0):
    """Wait until every worker holds partitions (/health assigned_partitions > 0, none
    recovering) and the polls partitions are split between them, each owned exactly once."""
    seen: list = []

    def settled():
        docs = [h.health() for h in handles]
        counts = [d["assigned_partitions"] for d in docs]
        owned = [owned_partitions(h) for h in handles]
        flat = sorted(p for o in owned for p in o)
        seen[:] = [counts, owned, [d["recovering"] for d in docs]]
        ok = (all(counts) and all(owned) and flat == list(range(partitions))
              and not any(d["recovering"] for d in docs))
        return (counts, owned) if ok else None

    try:
        return wait_for(settled, timeout, f"partitions spread over {len(handles)} workers")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last counts, owned, recovering: {seen}") from None


def _split_polls(data: Path, tmp: Path) -> tuple[Path, Path]:
    lines = (data / SOURCES[0]).read_text().splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    half = len(body) // 2
    first, second = tmp / "polls-1.csv", tmp / "polls-2.csv"
    first.write_text(header + "".join(body[:half]))
    second.write_text(header + "".join(body[half:]))
    return first, second


def _state_partitions(handle: WorkerProcess) -> set[int]:
    """store-state partitions with a RocksDB folder in this worker's state dir."""
    root = Path(handle.env["STREAMPROC_STATE_DIR"]) / "worker"
    found = set()
    for path in root.rglob("*store-state-*.db"):
        tail = path.name.rsplit("-", 1)[-1].removesuffix(".db")
        if tail.isdigit():
            found.add(int(tail))
    return found


@pytest.mark.timeout(240)
def test_takeover_and_spread(kafka_broker, dataset, expected, tmp_path, say):
    base = isolated_env(kafka_broker, tmp_path / "unused", **FAST_FAILOVER)
    a, b, c = (peer_worker(base, tmp_path, n) for n in "abc")
    first, second = _split_polls(dataset, tmp_path)
    try:
        a.start()
        total = a.health()["assigned_partitions"]
        n = int(a.env.get("STREAMPROC_PARTITIONS", "8"))
        b.start()
        counts, owned = _spread([a, b], n)
        say(f"two workers: assigned topic-partitions (/health; {total} when alone, the "
            f"watermarks GlobalTable counts on both) a={counts[0]} b={counts[1]}; "
            f"polls partitions a={owned[0]} b={owned[1]}")

        run_cli(a.env, *replay_args(dataset, first, "--chunk-rows", "2000"))
        snaps = [snapshot(h) for h in (a, b)]
        stats = [h.health() for h in (a, b)]
        say(f"first half replayed: polls applied a={stats[0]['polls_applied']} "
            f"b={stats[1]['polls_applied']}, stores a={stats[0]['stores_live']} "
            f"b={stats[1]['stores_live']}; reports from a and b identical: "
            f"{snaps[0] == snaps[1]}")
        assert stats[0]["polls_applied"] and stats[1]["polls_applied"], "both must process"
        assert snaps[0] == snaps[1]

        standby = _state_partitions(a)
        say(f"store-state RocksDB partitions on a's disk before the kill: {sorted(standby)} "
            "(its own plus standby replicas of b's)")

        killed = time.monotonic()
        b.kill(signal.SIGKILL)
        wait_for(lambda: a.health()["assigned_partitions"] == total
                 and not a.health()["recovering"] and owned_partitions(a) == list(range(n)), 120,
                 "a to take over every partition")
        took_over = time.monotonic() - killed
        run_cli(a.env, *replay_args(dataset, second, "--chunk-rows", "2000"))
        alone = snapshot(a)
        say(f"b SIGKILLed: a holds all {total} partitions after {took_over:.1f}s; second half "
            f"replayed; a's report equals batch: {alone == expected}")
        assert alone == expected, first_diff(alone, expected)

        c.start()
        counts, owned = _spread([a, c], n)
        reports = {name: snapshot(h) for name, h in (("a", a), ("c", c))}
        stats = [h.health() for h in (a, c)]
        say(f"c joined: assigned a={counts[0]} c={counts[1]}, polls partitions a={owned[0]} "
            f"c={owned[1]}; stores a="
            f"{stats[0]['stores_live']} c={stats[1]['stores_live']}; reports from a and c "
            f"equal batch: {[r == expected for r in reports.values()]}")
        for name, text in reports.items():
            assert text == expected, (name, first_diff(text, expected))
    finally:
        for h in (a, b, c):
            h.kill(signal.SIGTERM)
