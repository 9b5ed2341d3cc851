"""`streamproc bench --workers 1,2,3`: end-to-end polls/s with N workers of one pipeline.

For each N, a fresh isolated pipeline (own topics, group, state dirs): N workers started and
settled (the partitions split), then ``streamproc replay`` of the data set, timed from the
replay's start until a report triggered on the first worker is Complete (the report's
snapshot waits until every worker processed the topics' end offsets, so this is "all polls
applied by the cluster"). The 1-worker run of the same invocation is the baseline.

All workers, the broker and the producer share this machine's CPUs, so more workers can
only help as far as the cores go; the figure says how much of the single-worker rate the
cluster keeps or adds here, and on paper (README, "Scaling out") how it carries further.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from bench import harness
from streamproc.sandbox import http, isolated_env, peer_worker, unique_name, wait_split


@dataclass(frozen=True)
class ScaleRun:
    workers: int
    polls: int
    seconds: float  # replay start -> report Complete
    replay_s: float
    rows: int  # stores in the report (the same for every count, or the run is wrong)
    load: str  # load average after the run

    @property
    def rate(self) -> float:
        return self.polls / self.seconds


def parse_counts(text: str) -> list[int]:
    """``"1,2,3"`` -> [1, 2, 3]; 1 first (the baseline), each count once, 1..8."""
    counts = sorted({int(part) for part in text.split(",") if part.strip()})
    if not counts or counts[0] < 1 or counts[-1] > 8:
        raise ValueError("--workers takes counts from 1 to 8, e.g. 1,2,3")
    return counts if counts[0] == 1 else [1, *counts]


def run_one(bootstrap: str, tmp: Path, n: int, source_args: list[str]) -> ScaleRun:
    """One pipeline with ``n`` workers: settle, replay, report; everything stopped after."""
    env = isolated_env(bootstrap, tmp / f"w{n}" / "state", unique_name(f"scale{n}"),
                       STREAMPROC_LOGLEVEL="warning")
    handles = [peer_worker(env, tmp / f"w{n}", str(i)) for i in range(n)]
    try:
        for handle in handles:
            handle.start(180)
        wait_split(handles, 180)
        started = time.monotonic()
        _, out = harness.timed_cli(env, "replay", *source_args)
        polls, replay_s = harness.parse_replay_summary(out)
        report_id = http.trigger_report(handles[0].base_url)
        csv = http.wait_report(handles[0].base_url, report_id, timeout=900, every=0.05)
        seconds = time.monotonic() - started
        return ScaleRun(n, polls, seconds, replay_s, csv.count(b"\n") - 1, harness.loadavg())
    finally:
        for handle in handles:
            handle.kill()


def table(runs: list[ScaleRun]) -> str:
    base = runs[0].rate
    lines = ["| workers | end to end | vs 1 worker (same run) | replay alone | report rows | "
             "load after |", "|---|---|---|---|---|---|"]
    for run in runs:
        lines.append(f"| {run.workers} | {run.rate:,.0f} polls/s ({run.seconds:.1f} s) | "
                     f"x{run.rate / base:.2f} | {run.polls / run.replay_s:,.0f} polls/s | "
                     f"{run.rows:,} | {run.load} |")
    return "\n".join(lines) + "\n"
