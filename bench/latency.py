"""Step 5: live latency on the main worker, a poll → ``/stores/{id}`` and → ``/live`` (SSE),
under 1,000 polls/s of background load (:mod:`bench.live`)."""

from __future__ import annotations

import argparse
import asyncio

from bench import live
from bench.context import BenchContext, MainWorker
from bench.table import Findings, fmt_s, judged
from streamproc.sandbox import percentile

LIVE_P99_TARGET = 0.200  # seconds
LOAD = 1000  # background polls/s
PATHS = (("live: poll → `/stores/{id}`", "http"), ("live: poll → `/live` (SSE)", "sse"))


def step_live(ctx: BenchContext, main: MainWorker) -> Findings:
    ctx.log(f"live latency at {LOAD:,} polls/s ...")
    args = live_args(ctx.options.quick, main.process.base_url)
    figures = asyncio.run(live.measure(args, main.settings))
    load_rate = figures["sent"] / figures["elapsed"]
    found = Findings()
    for name, key in PATHS:
        latencies = figures[key]
        lost = figures["samples"] - len(latencies)
        p99 = percentile(latencies, 0.99)
        value = (f"p50 {fmt_s(percentile(latencies, 0.5))}, p99 {fmt_s(p99)} "
                 f"(n={len(latencies)}" + (f", {lost} not seen" if lost else "") + ")")
        found.rows.append(judged(name, value, "p99 < 200 ms", f"background {load_rate:,.0f} "
                                 "polls/s", (not lost) and p99 < LIVE_P99_TARGET))
        if key == "sse" and not p99 < LIVE_P99_TARGET:
            found.notes.append(_sse_note(len(latencies)))
    return found


def live_args(quick: bool, url: str) -> argparse.Namespace:
    """The options of ``python -m bench.live`` for this step."""
    return argparse.Namespace(url=url, samples=50 if quick else 400, load=LOAD,
                              bg_stores=2000, per_message=10, interval=0.05, warmup=2.0,
                              timeout=5.0)


def _sse_note(samples: int) -> str:
    return ("`/live` adds a hop after the state update: the worker publishes the "
            "outage event to the outages topic (Faust producer, linger 5 ms), and the "
            "feed's aiokafka consumer reads it back before the SSE push; its p99 "
            f"(the slowest ~1% of {samples} samples) is also the figure most exposed "
            "to the other processes on this shared machine.")
