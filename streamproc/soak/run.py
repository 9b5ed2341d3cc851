"""One soak from start to end: data, cluster, workers, the live phase, the settling, the
final check, and the tear-down of every process it started (also when interrupted).

Phases (each logged with its duration):

1. generate the data set (``streamproc generate``) and read it once (the oracle's input);
2. start a private 3-node cluster and the initial workers, wait until they share the
   partitions; replay the hours, time zones and special hours;
3. the live phase, ``minutes`` long: the polls replayed in time order at the speed that
   spreads them over it, while the schedule's actions run and every report is followed;
4. settle: every action done (each killed node restarted), the replay finished, every
   running worker ready and the partitions split between them, every report finished;
5. the final check (``final``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from streamproc import config
from streamproc.core.timeparse import to_iso
from streamproc.sandbox import WaitTimeout, isolated_env, run_cli, wait_split
from streamproc.soak.actions import Executor
from streamproc.soak.brokers import Brokers
from streamproc.soak.checks import Oracle
from streamproc.soak.data import HOURS, SPECIAL, ZONES, DataSet, generate, load
from streamproc.soak.final import final_check
from streamproc.soak.fleet import Fleet
from streamproc.soak.outcome import SoakResult
from streamproc.soak.publisher import LivePublisher
from streamproc.soak.reports import Follower, ReportBook
from streamproc.soak.schedule import Options, Schedule, build_schedule

SETTLE_TIMEOUT_S = 180.0
STATUS_EVERY_S = 10.0


@dataclass(frozen=True)
class SoakConfig:
    seed: int
    minutes: float
    run_dir: Path
    jars: Path  # the cached Kafka jars (linked into the cluster's state dir)
    stores: int = 200
    days: int = 8
    session_timeout_s: float = 10.0  # the workers' consumer-group session (recovery time)
    worker_loglevel: str = "info"  # of the workers' logs (Faust's rebalances show at info)
    keep: bool = False  # keep the brokers' data and the workers' state dirs

    def options(self) -> Options:
        return Options(duration_s=self.minutes * 60)


def run_soak(cfg: SoakConfig, log) -> SoakResult:
    """Run the soak of ``cfg``; every process it started is gone when it returns."""
    schedule = build_schedule(cfg.seed, cfg.options())
    result = SoakResult(cfg.seed, cfg.minutes, cfg.stores, cfg.days, cfg.run_dir, schedule)
    phase = time.monotonic()
    log(f"soak seed {cfg.seed}: {cfg.minutes:g} min, run directory {cfg.run_dir}")
    data = load(generate(cfg.run_dir / "data", cfg.stores, cfg.days, cfg.seed,
                         dict(os.environ)))
    result.polls = len(data.polls)
    log(f"data set: {cfg.stores} stores x {cfg.days} days, {len(data.polls):,} polls; "
        f"schedule: {len(schedule.actions)} actions")
    with contextlib.ExitStack() as stack:
        log("starting a 3-node Kafka cluster ...")
        brokers = Brokers.start(cfg.run_dir / "cluster", cfg.jars)
        stack.callback(brokers.stop)
        log(f"cluster up at {brokers.bootstrap} (logs in {cfg.run_dir / 'cluster'}/kafka-*/logs)")
        _live(cfg, schedule, data, brokers, result, stack, log, phase)
    result.caught = caught_in_logs(cfg.run_dir)
    if result.ok and not cfg.keep:
        _remove_state(cfg.run_dir)
    return result


CAUGHT = {"caught: records skipped, read again": "were skipped on the way from the broker",
          "caught: records gone from the broker": "are not on the broker any more",
          "caught: commits held at an unacked one": "no commit past it"}


def caught_in_logs(run_dir: Path) -> dict[str, int]:
    """How often the workers' consumers caught a record about to be stepped over."""
    text = "".join(p.read_text(errors="replace") for p in sorted(run_dir.glob("worker-*.log")))
    return {label: text.count(needle) for label, needle in CAUGHT.items()}


def _pipeline_env(cfg: SoakConfig, brokers: Brokers) -> dict[str, str]:
    """The workers' environment: the cluster, replication 3, a short session so that a
    kill -9 costs seconds, not a minute."""
    return isolated_env(brokers.bootstrap, cfg.run_dir / "unused", **brokers.env,
                        BROKER_SESSION_TIMEOUT=f"{cfg.session_timeout_s:g}",
                        BROKER_HEARTBEAT_INTERVAL="1", STREAMPROC_LOGLEVEL=cfg.worker_loglevel)


def _live(cfg: SoakConfig, schedule: Schedule, data: DataSet, brokers: Brokers,
          result: SoakResult, stack: contextlib.ExitStack, log, phase: float) -> None:
    """Phases 2 to 5 (see the module docstring)."""
    env = _pipeline_env(cfg, brokers)
    settings = config.load(env)
    fleet = Fleet(env, cfg.run_dir, log)
    stack.callback(fleet.close)
    _start_workers(fleet, schedule.initial_workers, log)
    run_cli(env, "replay", "--hours", str(data.path / HOURS), "--timezones",
            str(data.path / ZONES), "--special-hours", str(data.path / SPECIAL))
    result.seconds["setup"] = time.monotonic() - phase
    result.speed = (data.last_us - data.first_us) / 1e6 / schedule.options.duration_s
    log(f"set up in {result.seconds['setup']:.0f}s; live phase: the polls at x{result.speed:.0f}"
        f" ({to_iso(data.first_us)[:16]} to {to_iso(data.last_us)[:16]})")
    publisher = LivePublisher(settings, data.polls, result.speed, log)
    book, oracle = ReportBook(), Oracle(data)
    follower = Follower(book, fleet, oracle, publisher, log)
    executor = Executor(settings, brokers, fleet, publisher, book, data, log)
    monitor = _Monitor(fleet, brokers, publisher, book, data, log)
    for part in (publisher, follower, monitor):
        part.start()
        stack.callback(part.stop)
    phase = time.monotonic()
    executor.run(schedule, phase)
    result.seconds["live"] = time.monotonic() - phase
    phase = time.monotonic()
    _settle(executor, publisher, brokers, fleet, follower, result, log)
    result.seconds["settle"] = time.monotonic() - phase
    phase = time.monotonic()
    result.final = final_check(env, cfg.run_dir, oracle, fleet, publisher, book, follower, log)
    result.seconds["final"] = time.monotonic() - phase
    _collect(result, executor, publisher, book, fleet)


def _start_workers(fleet: Fleet, names: tuple[str, ...], log) -> None:
    """Start each worker and wait until it is ready, then until they share the partitions."""
    for name in names:
        handle = fleet.start(name)
        handle.wait_ready(timeout=120)
        log(f"worker {name} ready (pid {handle.pid}, {handle.base_url})")
    split = wait_split(fleet.running(), timeout=180)
    log(f"workers {', '.join(names)} share the partitions (assigned {split})")


def _settle(executor: Executor, publisher: LivePublisher, brokers: Brokers, fleet: Fleet,
            follower: Follower, result: SoakResult, log) -> None:
    """Phase 4: wait until nothing moves any more; what does not settle is an error."""
    log("settling: every action done, the replay finished, the workers ready ...")
    executor.drain()
    if not publisher.done.wait(SETTLE_TIMEOUT_S) or publisher.error is not None:
        result.errors.append(f"the live replay did not finish: {publisher.error!r}")
    down = brokers.down()
    if down:
        result.errors.append(f"broker nodes {down} still down at the end")
        for node in down:
            brokers.restart(node)
    fleet.settle_stops()
    try:
        for handle in fleet.running():
            handle.wait_ready(timeout=SETTLE_TIMEOUT_S)
        split = wait_split(fleet.running(), timeout=SETTLE_TIMEOUT_S)
        log(f"workers {', '.join(n for n, _ in fleet.running_named())} settled "
            f"(assigned {split})")
    except (WaitTimeout, AssertionError) as exc:
        result.errors.append(f"the workers did not settle: {str(exc).splitlines()[0]}")
    still = follower.wait_closed(SETTLE_TIMEOUT_S)
    log("every report finished" if not still else f"{len(still)} reports still Running")


def _collect(result: SoakResult, executor: Executor, publisher: LivePublisher,
             book: ReportBook, fleet: Fleet) -> None:
    fleet.exits()
    result.tally = executor.tally
    result.errors += executor.tally.errors + book.errors
    result.reports = book.all()
    result.coalesced, result.unaccepted = book.coalesced, book.unaccepted
    result.polls_sent, result.slices_resent = publisher.sent, publisher.retries
    result.unexpected_exits, result.slow_stops = fleet.unexpected, fleet.slow_stops


def _remove_state(run_dir: Path) -> None:
    """After a passing soak: drop the bulky state (broker data, RocksDB), keep the logs."""
    for path in [*run_dir.glob("state-*"), *run_dir.glob("cluster/kafka-*/data")]:
        shutil.rmtree(path, ignore_errors=True)


class _Monitor:
    """Every second: a worker that exited unasked is reported at once; every
    :data:`STATUS_EVERY_S`: a status line."""

    def __init__(self, fleet: Fleet, brokers: Brokers, publisher: LivePublisher,
                 book: ReportBook, data: DataSet, log) -> None:
        self.fleet, self.brokers, self.publisher, self.book = fleet, brokers, publisher, book
        self.data, self.log = data, log
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="monitor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(1.0):
            for exit_ in self.fleet.exits():
                self.log(f"UNEXPECTED EXIT: {exit_}")
            if time.monotonic() - last >= STATUS_EVERY_S:
                last = time.monotonic()
                self.log(self.status())

    def status(self) -> str:
        acked = self.publisher.acked_us
        reports = self.book.all()
        done = sum(1 for t in reports if t.status != "Running")
        bad = sum(1 for t in reports if (t.verdict is not None and not t.verdict.ok)
                  or t.status == "Lost" or (t.status == "Failed" and not t.allowed_failure))
        down = self.brokers.down()
        return (f"replay at {to_iso(max(acked, self.data.first_us))[:16]} "
                f"({self.data.polls_until(acked):,}/{len(self.data.polls):,} polls acked) | "
                f"workers up: {' '.join(n for n, _ in self.fleet.running_named()) or '-'} | "
                f"broker nodes down: {down or '-'} | reports: {done} done ({bad} bad), "
                f"{len(reports) - done} open")
