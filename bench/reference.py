"""Step 0: reference data into an idle, warm worker of its own (issue 15).

The real fleet's time zones and business hours (plus 2,000 polls) are replayed; the figures
are messages/s until applied, and how long after the replay's end the last of it is visible.
Probe polls are sent while the load is applied: a poll must not wait behind another topic's
backlog. Baseline: the pure core applying the same messages in this process
(:mod:`bench.core_rate`).
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench import core_rate, harness
from bench.context import BenchContext
from bench.data import DataSet
from bench.ingest import own_worker, profile_topics, replayed_counts, topic_counts, wait_messages
from bench.profiling import profiled
from bench.table import DASH, Findings, Row, judged
from streamproc.core import wire
from streamproc.sandbox import WorkerProcess, bootstrap_of

REFERENCE_POLLS = 2000
HOURS_TZ_TARGET = 20_000  # messages/s
VISIBLE_TARGET_S = 2.0
PROBE_TARGET_S = 1.0
PROBE_EVERY_S = 0.25
PROBE_TS_US = 1_674_000_000_000_000  # 2023-01-18, inside the week of the shared data


@dataclass(frozen=True)
class ReferenceRun:
    messages: int  # hours + time-zone messages
    replay_s: float  # the replay command alone
    profiles_s: float  # replay start -> every hours and zone message applied
    visible_after_end_s: float  # replay end -> everything applied, polls included
    probes: list[float]  # seconds until each probe poll showed (nan: never)


def step_reference(ctx: BenchContext) -> Findings:
    ctx.log(f"reference data (hours + zones + {REFERENCE_POLLS:,} polls) into an idle "
            "worker ...")
    core = core_rate.apply_profiles(core_rate.reference_messages(ctx.data.hours,
                                                                 ctx.data.timezones))
    with own_worker(ctx, "reference") as worker:
        warm_up(worker, ctx.data.polls)
        with profiled(ctx.options.profile, ctx.tmp, worker.pid, "reference") as notes:
            run = measure_reference(worker, ctx.data)
    ctx.log(f"probe polls seen after (s): {[round(p, 3) for p in run.probes]}")
    return Findings(_rows(run, core, harness.loadavg()), notes)


def warm_up(worker: WorkerProcess, polls: Path) -> None:
    """A few polls through every stage (topics exist, connections open, agents running), so
    that the figures do not include the worker's first-use costs."""
    harness.timed_cli(worker.env, "replay", "--polls", str(polls), "--limit", "100")
    worker.wait_applied(1, timeout=120)
    time.sleep(1.0)


def measure_reference(worker: WorkerProcess, data: DataSet) -> ReferenceRun:
    """Replay hours + zones + ``REFERENCE_POLLS`` polls into ``worker``, probing meanwhile."""
    topics = profile_topics(worker)
    before = topic_counts(worker, topics)
    polls_before = harness.polls_applied(worker)
    thread, stop, probes = _probing(worker)
    t0 = time.monotonic()
    _wall, out = harness.timed_cli(worker.env, "replay", "--hours", str(data.hours),
                                   "--timezones", str(data.timezones), "--polls",
                                   str(data.polls), "--limit", str(REFERENCE_POLLS))
    t_end = time.monotonic()
    sent_polls, _ = harness.parse_replay_summary(out)
    messages = replayed_counts(out)
    t_profiles = wait_messages(worker, topics, before + messages, 300)
    worker.wait_applied(polls_before + sent_polls, timeout=300, every=0.02)
    t_all = time.monotonic()
    stop.set()
    thread.join(60)
    return ReferenceRun(messages, t_end - t0, t_profiles - t0, t_all - t_end, probes)


def _rows(run: ReferenceRun, core: core_rate.CoreRun, load: str) -> list[Row]:
    rate = run.messages / run.profiles_s
    seen = [p for p in run.probes if not math.isnan(p)]
    worst = max(seen) if seen else math.nan
    lost = len(run.probes) - len(seen)
    return [
        judged("reference data: hours + time zones applied (replay start → all applied)",
               f"{rate:,.0f} msgs/s ({run.messages:,} msgs in {run.profiles_s:.2f} s; "
               f"the replay itself {run.replay_s:.2f} s; load {load})",
               f"≥ {HOURS_TZ_TARGET:,} msgs/s", f"pure core {core.messages_per_s:,.0f} msgs/s",
               rate >= HOURS_TZ_TARGET),
        judged(f"reference data + {REFERENCE_POLLS:,} polls: all visible after the replay's "
               "end", f"{run.visible_after_end_s:.2f} s", f"≤ {VISIBLE_TARGET_S:g} s", DASH,
               run.visible_after_end_s <= VISIBLE_TARGET_S),
        judged("a poll sent while the reference load is applied → on `/stores/{id}`",
               f"max {worst * 1000:.0f} ms over {len(seen)} probes"
               + (f" ({lost} never seen)" if lost else ""),
               f"≤ {PROBE_TARGET_S:g} s", DASH,
               bool(seen) and not lost and worst <= PROBE_TARGET_S),
    ]


# ------------------------------------------------------------------ probes


def _probing(worker: WorkerProcess) -> tuple[threading.Thread, threading.Event, list[float]]:
    """Probe polls in a thread of their own (the replay command blocks this one) until the
    event is set; their latencies accumulate in the list."""
    stop, out = threading.Event(), []
    thread = threading.Thread(target=lambda: asyncio.run(_probe_loop(worker, stop, out)),
                              daemon=True)
    thread.start()
    return thread, stop, out


async def _probe_loop(worker: WorkerProcess, stop: threading.Event, out: list[float]) -> None:
    """One poll of a fresh store every ``PROBE_EVERY_S`` until ``stop``."""
    import aiohttp
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_of(worker.env), linger_ms=0)
    await producer.start()
    try:
        async with aiohttp.ClientSession() as session:
            while not stop.is_set():
                out.append(await _probe(producer, session, worker, len(out)))
                await asyncio.sleep(PROBE_EVERY_S)
    finally:
        await producer.stop()


async def _probe(producer, session, worker: WorkerProcess, i: int) -> float:
    """Seconds from sending one poll of a fresh store until ``/stores/{id}`` shows it."""
    store = f"probe-{i}-{os.getpid()}"
    ts = PROBE_TS_US + i
    t0 = time.monotonic()
    await producer.send_and_wait(worker.env["STREAMPROC_TOPIC_POLLS"],
                                 wire.encode_polls([(ts, True)]),
                                 key=store.encode())  # murmur2, like partition_of
    while time.monotonic() - t0 < 30:
        async with session.get(f"{worker.base_url}/stores/{store}") as resp:
            if resp.status == 200 and (await resp.json()).get("last_poll_us") == ts:
                return time.monotonic() - t0
        await asyncio.sleep(0.005)
    return math.nan
