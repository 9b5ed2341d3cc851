"""Step 7: a live fleet in a worker of its own (issue 15).

A generated day of a 13,900-store fleet: hours and zones loaded first, then ``replay --speed
3600``; the figure is when the worker is done after the replay's end. Then the same day
shifted by a week is replayed while the worker is stopped, and the restarted worker drains
it: distinct-store polls/s (each packed message carries many stores, each with a poll or
two). Baseline: the pure core on the same packed messages.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from pathlib import Path

from bench import core_rate, harness
from bench.context import BenchContext
from bench.data import FLEET_STORES, QUICK_STORES
from bench.ingest import own_worker, profile_topics, replayed_counts, wait_messages
from bench.options import BenchOptions
from bench.profiling import profiled
from bench.reference import VISIBLE_TARGET_S
from bench.shifting import shift_weeks
from bench.table import DASH, Findings, Row, judged
from streamproc.sandbox import WorkerProcess

DISTINCT_TARGET = 20_000  # polls/s
SPEED = 3600.0  # an hour of polls per second: a day in 24 s
PACING_TICK_S = 0.05  # ``replay --speed`` cuts a slice this often (producers/pacing.py)


@dataclass(frozen=True)
class LiveRun:
    sent: int
    replay_s: float
    done_after_s: float  # replay end -> every poll applied
    cpu_s: float  # worker CPU meanwhile


@dataclass(frozen=True)
class DrainRun:
    sent: int
    drain_s: float  # restarted worker ready -> every poll applied


def fleet_size(options: BenchOptions) -> int:
    """The full fleet, or with ``--quick`` the bench's small one."""
    return (options.stores or QUICK_STORES) if options.quick else FLEET_STORES


def step_fleet(ctx: BenchContext) -> Findings:
    stores = fleet_size(ctx.options)
    ctx.log(f"live fleet ({stores:,} generated stores, one day, replay x{SPEED:g}) ...")
    day = generate_day(ctx, stores)
    core = fleet_core(day)
    next_week = shift_weeks(day / "store_status.csv", ctx.tmp / "fleet-next", [1])[0]
    with own_worker(ctx, "fleet") as worker:
        load_sources(worker, day)
        live = replay_live(worker, day / "store_status.csv")
        load = harness.loadavg()
        drain, notes = drain_backlog(ctx, worker, next_week)
    return Findings(_rows(live, drain, core, load, stores), notes)


def generate_day(ctx: BenchContext, stores: int) -> Path:
    out = ctx.tmp / "fleet"
    harness.timed_cli(ctx.env, "generate", "--stores", str(stores), "--days", "1",
                      "--out", str(out))
    return out


def fleet_core(day: Path) -> core_rate.CoreRun:
    """The core on the packed messages of ``replay --speed 3600``, hours and zones known."""
    proc = core_rate.new_processor()
    core_rate.apply_profiles(core_rate.reference_messages(day / "menu_hours.csv",
                                                          day / "timezones.csv"), proc)
    polls = core_rate.read_polls(day / "store_status.csv")
    return core_rate.apply_polls(core_rate.paced_messages(polls, SPEED, PACING_TICK_S), proc)


def load_sources(worker: WorkerProcess, day: Path) -> None:
    """The day's hours and zones, applied before the polls (as a running fleet has them)."""
    _wall, out = harness.timed_cli(worker.env, "replay", "--hours", str(day / "menu_hours.csv"),
                                   "--timezones", str(day / "timezones.csv"))
    wait_messages(worker, profile_topics(worker), replayed_counts(out), 300)


def replay_live(worker: WorkerProcess, polls: Path) -> LiveRun:
    """``replay --speed 3600`` into the running worker: seconds from the replay's end until
    the worker applied every poll."""
    before = harness.polls_applied(worker)
    cpu0, t0 = harness.proc_cpu_seconds(worker.pid), time.monotonic()
    _wall, out = harness.timed_cli(worker.env, "replay", "--polls", str(polls),
                                   "--speed", f"{SPEED:g}")
    t_end = time.monotonic()
    sent, _replay_s = harness.parse_replay_summary(out)
    worker.wait_applied(before + sent, timeout=600, every=0.02)
    t_done = time.monotonic()
    return LiveRun(sent, t_end - t0, t_done - t_end, harness.proc_cpu_seconds(worker.pid) - cpu0)


def drain_backlog(ctx: BenchContext, worker: WorkerProcess,
                  polls: Path) -> tuple[DrainRun, list[str]]:
    """The worker stopped, ``replay --speed 3600`` of ``polls``, the worker restarted: how
    fast it applies the backlog of packed distinct-store messages (ready → all applied).
    Also the profile's notes (``--profile``)."""
    worker.kill(signal.SIGTERM)
    _wall, out = harness.timed_cli(worker.env, "replay", "--polls", str(polls),
                                   "--speed", f"{SPEED:g}")
    sent, _ = harness.parse_replay_summary(out)
    worker.spawn()
    worker.wait_ready(180, every=0.02)
    t_ready = time.monotonic()
    with profiled(ctx.options.profile, ctx.tmp, worker.pid, "fleet-backlog") as notes:
        worker.wait_applied(sent, timeout=600, every=0.02)  # a new process counts from 0
    return DrainRun(sent, time.monotonic() - t_ready), notes


def _rows(live: LiveRun, drain: DrainRun, core: core_rate.CoreRun, load: str,
          stores: int) -> list[Row]:
    rate = drain.sent / drain.drain_s
    return [
        judged(f"live fleet: `replay --speed 3600` of a day of {stores:,} stores → worker "
               "done after the replay's end",
               f"{live.done_after_s:.2f} s ({live.sent:,} polls in {live.replay_s:.1f} s; "
               f"worker CPU {live.cpu_s:.1f} s; load {load})",
               f"≤ {VISIBLE_TARGET_S:g} s", DASH, live.done_after_s <= VISIBLE_TARGET_S),
        judged("distinct-store polls: a backlog of that replay (next week) applied by a "
               "restarted worker",
               f"{rate:,.0f} polls/s ({drain.sent:,} polls in {drain.drain_s:.1f} s)",
               f"≥ {DISTINCT_TARGET:,} polls/s",
               f"pure core {core.polls_per_s:,.0f} polls/s ({core.messages:,} packed msgs)",
               rate >= DISTINCT_TARGET),
    ]
