"""Step 3: reports from the main worker (trigger → Complete) beside ``streamproc report`` on
the same files, and ``get_report`` throughput of a finished report (:mod:`bench.api`)."""

from __future__ import annotations

import asyncio
import time

from bench import api, harness
from bench.context import BenchContext, MainWorker
from bench.table import DASH, Findings, Row, fmt_s, judged
from streamproc.sandbox import http

TRIGGER_P50_TARGET = 1.0  # seconds
TRIGGER_P99_TARGET = 2.0
BATCH_SPEEDUP_TARGET = 20.0  # the batch command's time ÷ the p50
GET_RPS_TARGET = 500
REPORTS = 20


def step_reports(ctx: BenchContext, main: MainWorker) -> Findings:
    data = ctx.data
    ctx.log("batch command on the same files ...")
    batch_s, _ = harness.timed_cli(main.process.env, "report", "--polls", str(data.polls),
                                   "--hours", str(data.hours), "--timezones",
                                   str(data.timezones), "--out", str(ctx.tmp / "batch.csv"))
    ctx.log(f"trigger -> Complete x{REPORTS}, get_report throughput ...")
    figures = asyncio.run(api.run_bench(main.process.base_url, reports=REPORTS,
                                        gets=500 if ctx.options.quick else 2000, concurrency=32))
    return Findings([_trigger_row(figures, batch_s), _get_row(figures)])


def _trigger_row(figures: dict, batch_s: float) -> Row:
    p50, p99 = figures["trigger_to_complete_p50_s"], figures["trigger_to_complete_p99_s"]
    speedup = batch_s / p50
    return judged(f"trigger → Complete, all stores ({REPORTS} reports)",
                  f"p50 {fmt_s(p50)}, p99 {fmt_s(p99)}",
                  f"p50 < {TRIGGER_P50_TARGET:g} s, p99 < {TRIGGER_P99_TARGET:g} s, "
                  f"≥ {BATCH_SPEEDUP_TARGET:.0f}× batch",
                  f"`streamproc report` {batch_s:.1f} s; speed-up {speedup:.0f}×",
                  p50 < TRIGGER_P50_TARGET and p99 < TRIGGER_P99_TARGET
                  and speedup >= BATCH_SPEEDUP_TARGET)


def _get_row(figures: dict) -> Row:
    return judged("`get_report` of a finished report",
                  f"{figures['get_rps']:,.0f} req/s ({figures['gets']:,} gets, "
                  f"{figures['get_concurrency']} clients, "
                  f"{figures['report_bytes'] / 1024:,.0f} KiB each, "
                  f"{figures['get_errors']} errors)",
                  f"≥ {GET_RPS_TARGET} req/s, no errors", DASH,
                  figures["get_rps"] >= GET_RPS_TARGET and figures["get_errors"] == 0)


def wait_report_complete(base: str, timeout: float = 300.0) -> float:
    """Trigger a report and wait for Complete; seconds."""
    started = time.perf_counter()
    report_id = http.trigger_report(base)
    http.wait_report(base, report_id, timeout, every=0.02)
    return time.perf_counter() - started
