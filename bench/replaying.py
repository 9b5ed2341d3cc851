"""Replay a polls file into the main worker and wait until every poll is applied and the
worker caught up with the topics' end offsets: the clock of the end-to-end figures."""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench import harness
from bench.context import MainWorker
from bench.data import DataSet
from bench.profiling import Profiler
from streamproc.sandbox import WorkerProcess, http


@dataclass(frozen=True)
class ReplayRun:
    sent: int  # polls
    replay_s: float  # the replay's own time (its summary line)
    e2e_s: float  # replay start -> every poll applied and caught up
    catchup_wait_s: float  # of which the end-offset wait at the end
    cpu_s: float  # worker CPU meanwhile
    first_applied_s: float  # replay start -> the worker applied its first poll (nan: unseen)
    profile_err: str  # py-spy's complaints, when profiled

    @property
    def rate(self) -> float:
        return self.sent / self.e2e_s


def replay_and_wait(main: MainWorker, polls: Path, sources: DataSet | None, before: int,
                    profile_raw: Path | None = None) -> ReplayRun:
    """Replay ``polls`` (plus the hours and zones of ``sources``) into the worker, which had
    applied ``before`` polls; wait until it applied them all and caught up."""
    worker = main.process
    args = ["replay", "--polls", str(polls)]
    if sources is not None:
        args += ["--hours", str(sources.hours), "--timezones", str(sources.timezones)]
    cpu0 = harness.proc_cpu_seconds(worker.pid)
    profiler = Profiler(worker.pid, profile_raw) if profile_raw else None
    first: list[float] = []  # when the worker applied its first poll of this replay
    stop = threading.Event()
    t0 = time.monotonic()
    watcher = _watch_first_applied(worker, before, first, stop)
    try:
        _wall, out = harness.timed_cli(worker.env, *args)
        sent, replay_s = harness.parse_replay_summary(out)
        worker.wait_applied(before + sent, timeout=900)
        waited = catch_up(main)
        t_end = time.monotonic()
    finally:
        stop.set()
        watcher.join()
    cpu_s = harness.proc_cpu_seconds(worker.pid) - cpu0
    profile_err = profiler.stop() if profiler else ""
    first_s = (first[0] - t0) if first else math.nan
    return ReplayRun(sent, replay_s, t_end - t0, waited, cpu_s, first_s, profile_err)


def catch_up(main: MainWorker) -> float:
    """The snapshot's end-offset wait (``/internal/catch-up``): until the worker processed the
    input topics' end offsets; the seconds it waited."""
    settings = main.settings
    targets = end_offsets(settings.bootstrap, main.input_topics, settings.partitions)
    body = {"targets": [[t, p, o] for (t, p), o in targets.items()], "timeout": 300}
    # /internal/* answers the pipeline's peer secret alone (the peer-secret access rules)
    headers = {"Content-Type": "application/json",
               "Authorization": f"Bearer {main.process.env['STREAMPROC_PEER_SECRET']}"}
    status, _, answer = http.request(main.process.base_url, "/internal/catch-up", "POST",
                                     json.dumps(body).encode(), headers, timeout=320)
    if status != 200:
        raise RuntimeError(f"/internal/catch-up answered {status}: {answer[:300]!r}")
    return float(json.loads(answer)["waited_s"])


def end_offsets(bootstrap: str, topics: list[str], partitions: int) -> dict[tuple[str, int], int]:
    return asyncio.run(_end_offsets(bootstrap, topics, partitions))


async def _end_offsets(bootstrap: str, topics: list[str],
                       partitions: int) -> dict[tuple[str, int], int]:
    from aiokafka import AIOKafkaConsumer
    from aiokafka.structs import TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        ends = await consumer.end_offsets(tps)
        return {(tp.topic, tp.partition): off for tp, off in ends.items()}
    finally:
        await consumer.stop()


def _watch_first_applied(worker: WorkerProcess, before: int, first: list[float],
                         stop: threading.Event) -> threading.Thread:
    """A thread that notes in ``first`` when the worker applied a poll beyond ``before``
    (a thread: the replay command blocks the caller meanwhile)."""

    def watch() -> None:
        while not stop.is_set():
            health = worker.try_health()
            if health and (health.get("polls_applied") or 0) > before:
                first.append(time.monotonic())
                return
            stop.wait(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher
