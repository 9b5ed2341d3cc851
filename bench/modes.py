"""The two runs that replace the main sequence: ``--workers 1,2,3`` (scale-out,
:mod:`bench.scale`) and ``--events N`` (one-poll events, :mod:`bench.events`)."""

from __future__ import annotations

from bench import events, scale
from bench.context import BenchContext
from bench.table import DASH, Findings, Row, fmt_rate, judged

EVENTS_TARGET = 20_000  # one-poll events applied per second on one worker (issue 18)


def step_workers(ctx: BenchContext, counts: str) -> Findings:
    """The same replay into 1, 2, 3 ... workers of one pipeline each."""
    data = ctx.data
    sources = ["--polls", str(data.polls), "--hours", str(data.hours),
               "--timezones", str(data.timezones)]
    runs = []
    for n in scale.parse_counts(counts):
        ctx.log(f"{n} worker(s) ...")
        runs.append(scale.run_one(ctx.bootstrap, ctx.tmp, n, sources))
        ctx.log(f"{n} worker(s): {runs[-1].rate:,.0f} polls/s end to end")
    found = Findings([
        Row(f"end to end with {run.workers} worker(s) (replay start → report Complete)",
            f"{fmt_rate(run.rate)} ({run.seconds:.1f} s; load after {run.load})",
            baseline=f"x{run.rate / runs[0].rate:.2f} of 1 worker")
        for run in runs])
    if len({run.rows for run in runs}) != 1:
        found.notes.append(f"**the reports differ in size**: {[run.rows for run in runs]} rows")
    found.notes.append("scale-out step (`--workers`):\n\n" + scale.table(runs))
    return found


def step_events(ctx: BenchContext, count: int) -> Findings:
    """``count`` one-poll events by store-events, by POST /events, and by replay."""
    evs = events.poll_events(ctx.data.polls, count)
    ctx.log(f"{len(evs):,} one-poll events")
    runs = []
    for path in ("replay", "topic", "http"):  # replay first: the baseline of the others
        runs.append(events.run_path(ctx.bootstrap, ctx.tmp, path, evs))
        ctx.log(f"{path}: {runs[-1].rate:,.0f} events/s applied")
    base = runs[0].rate
    found = Findings()
    for run in runs:
        judge = run.path != "replay"
        found.rows.append(judged(f"{events.LABELS[run.path]}: applied",
                                 f"{run.rate:,.0f} events/s",
                                 f">= {EVENTS_TARGET:,} events/s" if judge else DASH,
                                 f"x{run.rate / base:.2f} of replay",
                                 run.rate >= EVENTS_TARGET if judge else None))
    found.notes.append("events step (`--events`):\n\n" + events.table(runs))
    return found
