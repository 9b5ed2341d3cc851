"""Which steps of `streamproc bench` run, in which order, around which worker.

The main sequence measures ONE isolated worker (own app id, topics, state dir, port), started
once for steps 1-6, so that each step meets the state the previous ones left:

0. reference data, in a worker of its own (:mod:`bench.reference`);
1. end to end: a week replayed, beside the pure core (:mod:`bench.end_to_end`);
2. state after one week (:mod:`bench.state`);
3. reports: trigger → Complete beside the batch command; ``get_report`` throughput
   (:mod:`bench.reports`);
4. state after three more weeks (:mod:`bench.state`);
5. live latency under background load (:mod:`bench.latency`);
6. recovery after SIGKILL (:mod:`bench.recovery`);
7. a live fleet at x3600, in a worker of its own (:mod:`bench.fleet`);
8. scale: N stores beside 10 x N, each in a worker of its own (:mod:`bench.growth`);
9. minute polls: changelog bytes per live poll (:mod:`bench.growth`).

``--skip`` leaves out 0 and 3-9; ``--workers`` and ``--events`` replace the sequence
(:mod:`bench.modes`). Each step returns its :class:`~bench.table.Findings`; they are yielded
one by one, so that a step that fails leaves the rows of the steps before it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from bench import (
    end_to_end,
    fleet,
    growth,
    harness,
    latency,
    modes,
    recovery,
    reference,
    reports,
    state,
)
from bench.context import BenchContext, MainWorker
from bench.table import Findings
from streamproc import config
from streamproc.sandbox import WorkerProcess, isolated_env, unique_name


def measure(ctx: BenchContext) -> Iterator[Findings]:
    if ctx.options.workers:
        yield modes.step_workers(ctx, ctx.options.workers)
    elif ctx.options.events:
        yield modes.step_events(ctx, ctx.options.events)
    else:
        yield from _with_main_worker(ctx)


def _with_main_worker(ctx: BenchContext) -> Iterator[Findings]:
    env = isolated_env(ctx.bootstrap, ctx.tmp / "state", unique_name("bench"),
                       STREAMPROC_LOGLEVEL="warning")
    main = MainWorker(WorkerProcess(env, ctx.tmp / "worker.log", grace=30), config.load(env))
    try:
        t = time.monotonic()
        with main.process.running(180):
            ctx.log(f"worker pid {main.process.pid} ready in {time.monotonic() - t:.1f}s "
                    f"({main.process.base_url})")
            yield from _sequence(ctx, main)
    finally:
        if not ctx.options.keep:
            harness.delete_topics(ctx.bootstrap, lambda name: main.settings.app_id in name
                                  or name in main.all_topics)


def _sequence(ctx: BenchContext, main: MainWorker) -> Iterator[Findings]:
    runs = ctx.options.runs
    if runs("reference"):  # first: the worker is idle and warm
        yield reference.step_reference(ctx)
    found, week1 = end_to_end.step_end_to_end(ctx, main)
    yield found
    found, size1 = state.step_week_state(main, week1)
    yield found
    if runs("reports"):
        yield reports.step_reports(ctx, main)
    if runs("weeks"):  # before the live step, whose probe stores would count as state
        yield state.step_weeks(ctx, main, week1, size1)
    if runs("live"):
        yield latency.step_live(ctx, main)
    if runs("recovery"):
        yield recovery.step_recovery(ctx, main)
    if runs("fleet"):
        yield fleet.step_fleet(ctx)
    if runs("scale"):
        yield growth.step_scale(ctx)
    if runs("minute"):
        yield growth.step_minute(ctx)
