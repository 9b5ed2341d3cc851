"""The report jobs' shell on fakes (no Kafka): a trigger's messages applied in order give a
Complete record and a file; an owner's report holds their stores only; a failed snapshot
fails the report with its reason; a report whose worker is stopping is left Running; files
come back from chunks and are swept; identical triggers share one report."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from types import SimpleNamespace

import orjson

from streamproc.config import Settings
from streamproc.core.access import Principal
from streamproc.core.report_rows import ReportRow
from streamproc.worker.reports import ReportJobs
from streamproc.worker.reports.coalescing import Coalescer
from streamproc.worker.reports.files import ReportFiles, chunk_key
from streamproc.worker.snapshot import Snapshot, SnapshotTimeout

ROWS = [ReportRow("a", 1, 2, 3, 4, 5, 6), ReportRow("b", 6, 5, 4, 3, 2, 1)]


class FakeCluster:
    """A ClusterView with fixed rows (or a fixed failure)."""

    def __init__(self, error: Exception | None = None, stopping: bool = False) -> None:
        self.error, self._stopping = error, stopping

    def assigned(self) -> set:
        return {SimpleNamespace(topic="reports", partition=0)}

    def recovering(self) -> bool:
        return False

    def stopping(self) -> bool:
        return self._stopping

    def is_ready(self) -> bool:
        return True

    def watermark_now(self) -> int | None:
        return 1_000

    async def end_offsets_of(self, tps: list) -> dict:
        return {}

    async def snapshot(self, as_of=None, timeout=60.0, figures=False, stores=None) -> Snapshot:
        if self.error is not None:
            raise self.error
        return Snapshot(list(ROWS), 1_000, 0.0, 0.0)


class LoopbackTopic:
    """The report-requests topic: every message sent is applied by the jobs' agent."""

    def __init__(self) -> None:
        self.jobs: ReportJobs | None = None
        self.sent: list[tuple[str, dict]] = []

    def get_topic_name(self) -> str:
        return "reports"

    async def send(self, key: bytes, value: bytes) -> asyncio.Future:
        self.sent.append((key.decode(), orjson.loads(value)))
        self.jobs.apply(key, value)
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def _jobs(tmp_path: Path, cluster: FakeCluster) -> tuple[ReportJobs, LoopbackTopic]:
    topic = LoopbackTopic()
    settings = Settings(state_dir=tmp_path)
    jobs = ReportJobs(settings, cluster, topic, table={}, chunks={})
    topic.jobs = jobs
    return jobs, topic


async def _finish(jobs: ReportJobs, principal: Principal | None = None) -> dict:
    report_id = await (jobs.trigger(None) if principal is None
                       else jobs.trigger(None, (), principal))
    while jobs.tasks:
        await asyncio.sleep(0.01)
    return jobs.lookup(report_id).record


def test_a_trigger_ends_complete_with_its_file(tmp_path: Path) -> None:
    jobs, topic = _jobs(tmp_path, FakeCluster())
    record = asyncio.run(_finish(jobs))
    assert record["status"] == "Complete" and record["rows"] == 2
    text = jobs.csv_path(record["id"], record).read_text()
    assert text.splitlines()[1].startswith("a,") and len(text.splitlines()) == 3
    assert [m["type"] for _, m in topic.sent] == ["request", "chunk", "done"]


def test_an_owners_report_holds_their_stores_only(tmp_path: Path) -> None:
    jobs, _ = _jobs(tmp_path, FakeCluster())
    owner = Principal("owner", "o1", frozenset({"b"}))
    record = asyncio.run(_finish(jobs, owner))
    lines = jobs.csv_path(record["id"], record).read_text().splitlines()
    assert record["rows"] == 1 and lines[1].startswith("b,")


def test_a_snapshot_that_cannot_be_had_fails_the_report_with_its_reason(tmp_path: Path) -> None:
    reason = "no stable assignment within 60 s (STREAMPROC_REPORT_UNSTABLE_S) after 9 attempts"
    jobs, _ = _jobs(tmp_path, FakeCluster(SnapshotTimeout(reason)))
    record = asyncio.run(_finish(jobs))
    assert record["status"] == "Failed" and record["error"] == reason


def test_a_report_failing_because_its_worker_stops_is_left_running(tmp_path: Path) -> None:
    jobs, topic = _jobs(tmp_path, FakeCluster(SnapshotTimeout("this worker is stopping"),
                                              stopping=True))
    record = asyncio.run(_finish(jobs))
    assert record["status"] == "Running"
    assert [m["type"] for _, m in topic.sent] == ["request"]


def test_identical_triggers_share_one_running_report() -> None:
    coalescer = Coalescer(remembered=2)
    coalescer.remember("k1", "r1")
    assert coalescer.running("k1", lambda rid: True) == "r1"
    assert coalescer.running("k1", lambda rid: False) is None  # finished: a new report
    coalescer.remember("k2", "r2")
    coalescer.remember("k3", "r3")
    assert coalescer.running("k1", lambda rid: True) is None  # forgotten, oldest first


def test_a_file_comes_back_from_its_chunks_and_old_files_are_swept(tmp_path: Path) -> None:
    rid = "A" * 22
    files = ReportFiles(tmp_path / "reports", {chunk_key(rid, 0): b"x,y\n",
                                               chunk_key(rid, 1): b"1,2\n"})
    assert files.csv_path(rid, 2).read_text() == "x,y\n1,2\n"
    assert files.csv_path("B" * 22, 1) is None  # no file, no chunks
    old = time.time() - 3 * 3600
    os.utime(files.path(rid), (old, old))
    files.sweep(retention_s=3600, keep=10)
    assert not files.path(rid).exists()


FLEET_REASON = ("no stable assignment within 60 s after 9 attempts: stores ['bob-store-7', "
                "'bob-store-9'] were evaluated twice; http://10.0.3.7:6066/internal/rows "
                "answered 409")


def test_an_owner_sees_a_failure_without_other_stores_or_urls(tmp_path: Path) -> None:
    """Issue 25, finding 9: the reason may name any store of the fleet and a worker's URL."""
    jobs, _ = _jobs(tmp_path, FakeCluster(SnapshotTimeout(FLEET_REASON)))
    alice = Principal("owner", "alice", frozenset({"s1"}))
    record = asyncio.run(_finish(jobs, alice))
    assert record["status"] == "Failed"
    shown = jobs.listing(10, alice)[0]["error"]
    assert "bob-store" not in shown and "10.0.3.7" not in shown and shown
    operator = jobs.listing(10, Principal("operator"))[0]["error"]
    assert "bob-store-7" in operator and "10.0.3.7" not in operator  # the reason, no URL
