"""What the two ingest steps (:mod:`bench.reference`, :mod:`bench.fleet`, issue 15) share:
a worker of its own pipeline, and the hours / time-zone message counts of a replay.

Their figures are messages applied per second, so they read the worker's per-topic message
counters (``/health`` ``messages``) rather than ``polls_applied``.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator

from bench import harness
from bench.context import BenchContext
from streamproc.sandbox import WorkerProcess, isolated_env, unique_name, wait_for

REPLAYED_PROFILES = re.compile(r"hours ([\d,]+) stores; timezones ([\d,]+) stores")


def profile_topics(worker: WorkerProcess) -> list[str]:
    """The worker's hours and time-zone topics."""
    return [worker.env["STREAMPROC_TOPIC_HOURS"], worker.env["STREAMPROC_TOPIC_TIMEZONES"]]


def topic_counts(worker: WorkerProcess, topics: list[str]) -> int:
    health = worker.try_health() or {}
    return sum((health.get("messages") or {}).get(t, 0) for t in topics)


def wait_messages(worker: WorkerProcess, topics: list[str], total: int, timeout: float) -> float:
    """Until the worker counted ``total`` messages of ``topics``; the monotonic time then."""
    wait_for(lambda: topic_counts(worker, topics) >= total, timeout,
             f"{total} messages of {topics} applied", every=0.02)
    return time.monotonic()


def replayed_counts(summary: str) -> int:
    """Hours + time-zone messages of a replay's summary line (one message per store)."""
    found = REPLAYED_PROFILES.search(summary)
    if not found:
        raise ValueError(f"no hours/timezones counts in {summary[-300:]!r}")
    return sum(int(x.replace(",", "")) for x in found.groups())


@contextlib.contextmanager
def own_worker(ctx: BenchContext, name: str) -> Iterator[WorkerProcess]:
    """A worker of its own pipeline (topics, group, state), so that the probe stores and
    the generated fleet stay out of the main worker's state; its topics deleted after."""
    tag = unique_name(f"bench-{name}")
    env = isolated_env(ctx.bootstrap, ctx.tmp / f"{name}-state", tag,
                       STREAMPROC_LOGLEVEL="warning")
    worker = WorkerProcess(env, ctx.tmp / f"worker-{name}.log", grace=30)
    try:
        with worker.running(180):
            yield worker
    finally:
        harness.delete_topics(ctx.bootstrap, lambda topic: tag in topic)
