"""Steps 8 and 9 (issue 24): how the cost of a poll grows with the fleet and with the history.

* ``scale``: N stores and 10 x N stores (``streamproc generate``, same days, seed 0), each
  replayed into a fresh worker of its own; end to end (replay start -> every poll applied)
  and the worker's peak RSS, the 10x figure beside the 1x figure of the same run. Today a
  10x fleet costs more per poll because each poll rewrites its store's whole history.
  The batch command (``streamproc report``) on the same files too: its wall time and its
  own peak RSS at N and 10 x N.
* ``minute``: K stores polled every minute: a backlog of D days replayed, then a few live
  minutes at ``--speed 60``; the changelog bytes the live polls added (sizes of the broker's
  segment files of the worker's ``*-changelog`` topics) per live poll, beside the state's
  value bytes per store. With whole-store rows this grows with the days kept.

The pure pieces (the minute-poll file, the arithmetic) are unit-tested.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench import harness
from bench.context import BenchContext
from bench.ingest import own_worker
from bench.options import BenchOptions
from bench.profiling import profiled
from bench.table import DASH, Findings, Row, fmt_bytes, fmt_rate, judged
from streamproc import config
from streamproc.core.records import US_PER_DAY, US_PER_MINUTE
from streamproc.localkafka import layout
from streamproc.sandbox import WorkerProcess
from streamproc.synthetic.options import DEFAULT_START, to_us
from streamproc.synthetic.polls import Formatter

SCALE_RATIO_TARGET = 0.8  # end to end at 10x stores / at 1x (issue 24)
BATCH_PEAK_TARGET = 3 * 2**29  # 1.5 GiB: the batch command's peak RSS at 10x (issue 24)
PER_POLL_TARGET = 1024  # changelog bytes per live poll with 9 days kept (issue 24)
LIVE_SPEED = 60.0  # a live minute per second


@dataclass(frozen=True)
class GrowthSizes:
    """The sizes of both steps: small with ``--quick``, a few minutes each otherwise."""

    scale_stores: int  # N (the 10x run has 10 * N)
    scale_days: int
    minute_stores: int  # K
    minute_days: int  # D days of minute polls kept before the live minutes
    live_minutes: int


def sizes(options: BenchOptions) -> GrowthSizes:
    quick = GrowthSizes(50, 2, 20, 1, 3)
    full = GrowthSizes(5_000, 7, 200, 2, 10)  # ~3 min here; 1,000 x 3 days hid the wall
    base = quick if options.quick else full
    return GrowthSizes(options.scale_stores or base.scale_stores,
                       options.scale_days or base.scale_days,
                       options.minute_stores or base.minute_stores,
                       options.minute_days or base.minute_days, base.live_minutes)


# ------------------------------------------------------------------ pure pieces


def minute_poll_lines(store_ids: list[str], start_us: int, minutes: int) -> Iterator[str]:
    """CSV lines (no header) of every store polled once a minute for ``minutes`` minutes
    from ``start_us``, a few seconds apart per store; about one poll in 11 is inactive so
    that the state holds both statuses."""
    fmt = Formatter()
    for m in range(minutes):
        for i, sid in enumerate(store_ids):
            ts = start_us + m * US_PER_MINUTE + (i % 50) * 1_000_000
            status = "inactive" if (m + i) % 11 == 0 else "active"
            yield f"{sid},{status},{fmt(ts)}"


def write_minute_polls(path: Path, store_ids: list[str], start_us: int, minutes: int) -> int:
    """The file :func:`minute_poll_lines` describes; the number of polls written."""
    n = 0
    with path.open("w") as f:
        f.write("store_id,status,timestamp_utc\n")
        for line in minute_poll_lines(store_ids, start_us, minutes):
            f.write(line + "\n")
            n += 1
    return n


def per_poll(before: int, after: int, polls: int) -> float:
    """Bytes added per poll (0 polls: nan, not a division error)."""
    return (after - before) / polls if polls else float("nan")


def fmt_size(n: float) -> str:
    """Bytes in B, KiB or MiB: the minute step's figures are often far below a MiB."""
    if n < 10 * 1024:
        return f"{n:,.0f} B"
    if n < 10 * 1024 * 1024:
        return f"{n / 1024:,.1f} KiB"
    return f"{n / 1024 / 1024:,.1f} MiB"


def store_ids_of(polls_csv: Path) -> list[str]:
    """The distinct store ids of a polls file, in first-seen order."""
    seen: dict[str, None] = {}
    with polls_csv.open() as f:
        next(f, None)
        for line in f:
            seen.setdefault(line.split(",", 1)[0], None)
    return list(seen)


# ------------------------------------------------------------------ broker sizes


def changelog_bytes(data_dir: Path, tag: str) -> int:
    """Bytes of the segment files of every changelog topic partition of the pipeline
    ``tag`` (Faust names them ``<app id>-<table>-changelog``)."""
    total = 0
    for part in data_dir.glob(f"*{tag}*-changelog-*"):
        total += sum(seg.stat().st_size for seg in part.glob("*.log"))
    return total


def broker_data_dir(ctx: BenchContext) -> Path:
    return layout.single_node(config.load(ctx.env)).data_dir


def settled_changelog_bytes(data_dir: Path, tag: str, quiet_s: float = 1.0,
                            timeout: float = 60.0) -> int:
    """The changelog bytes once they stopped growing for ``quiet_s`` (the worker sends its
    changelog records after applying the polls)."""
    last, since, deadline = -1, time.monotonic(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = changelog_bytes(data_dir, tag)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            break
        time.sleep(0.2)
    return last


# ------------------------------------------------------------------ step: scale


@dataclass(frozen=True)
class ScaleRun:
    stores: int
    polls: int
    seconds: float  # replay start -> every poll applied
    hwm: int  # worker peak RSS, bytes
    load: str

    @property
    def rate(self) -> float:
        return self.polls / self.seconds


@dataclass(frozen=True)
class BatchRun:
    """``streamproc report`` on one data set of the scale step."""

    stores: int
    seconds: float
    peak: int  # the command's peak RSS, bytes
    load: str


def step_scale(ctx: BenchContext) -> Findings:
    size = sizes(ctx.options)
    runs, batches, notes = [], [], []
    for stores in (size.scale_stores, 10 * size.scale_stores):
        ctx.log(f"scale: {stores:,} stores x {size.scale_days} days ...")
        data = _generate(ctx, stores, size.scale_days, f"scale-{stores}")
        batch = _batch_run(ctx, data, stores)
        batches.append(batch)
        ctx.log(f"scale: {stores:,} stores: `streamproc report` {batch.seconds:.1f} s, "
                f"peak RSS {fmt_bytes(batch.peak)}")
        run, run_notes = _scale_run(ctx, data, stores, profile=stores > size.scale_stores)
        runs.append(run)
        notes += run_notes
        ctx.log(f"scale: {stores:,} stores: {fmt_rate(run.rate)}, peak RSS {fmt_bytes(run.hwm)}")
    return Findings(scale_rows(runs[0], runs[1]) + batch_report_rows(batches[0], batches[1]), notes)


def _batch_run(ctx: BenchContext, data: Path, stores: int) -> BatchRun:
    seconds, peak, _ = harness.cli_peak(
        ctx.env, "report", "--polls", str(data / "store_status.csv"), "--hours",
        str(data / "menu_hours.csv"), "--timezones", str(data / "timezones.csv"),
        "--special-hours", str(data / "special_hours.csv"), "--out",
        str(ctx.tmp / f"batch-{stores}.csv"))
    return BatchRun(stores, seconds, peak, harness.loadavg())


def batch_report_rows(one: BatchRun, ten: BatchRun) -> list[Row]:
    """The batch command at 10x stores beside 1x: its peak RSS judged, its time shown."""
    return [
        judged(f"scale: `streamproc report` peak RSS at 10x stores ({ten.stores:,})",
               f"{fmt_bytes(ten.peak)} (in {ten.seconds:.1f} s, x{ten.seconds / one.seconds:.1f} "
               f"the 1x time; load {ten.load})",
               f"≤ {fmt_bytes(BATCH_PEAK_TARGET)}",
               f"{one.stores:,} stores: {fmt_bytes(one.peak)} in {one.seconds:.1f} s "
               f"(load {one.load})", ten.peak <= BATCH_PEAK_TARGET),
    ]


def _generate(ctx: BenchContext, stores: int, days: int, name: str) -> Path:
    out = ctx.tmp / name
    harness.timed_cli(ctx.env, "generate", "--stores", str(stores), "--days", str(days),
                      "--out", str(out))
    return out


def _scale_run(ctx: BenchContext, data: Path, stores: int,
               profile: bool) -> tuple[ScaleRun, list[str]]:
    with (own_worker(ctx, f"scale{stores}") as worker,
          profiled(ctx.options.profile and profile, ctx.tmp, worker.pid, "scale-10x") as notes):
        started = time.monotonic()
        _, out = harness.timed_cli(worker.env, "replay", "--polls",
                                   str(data / "store_status.csv"), "--hours",
                                   str(data / "menu_hours.csv"), "--timezones",
                                   str(data / "timezones.csv"))
        sent, _ = harness.parse_replay_summary(out)
        worker.wait_applied(sent, timeout=1800, every=0.05)
        seconds = time.monotonic() - started
        hwm = harness.proc_status_kib(worker.pid, "VmHWM") * 1024
    return ScaleRun(stores, sent, seconds, hwm, harness.loadavg()), notes


def scale_rows(one: ScaleRun, ten: ScaleRun) -> list[Row]:
    ratio = ten.rate / one.rate
    return [
        judged(f"scale: end to end at 10x stores ({ten.stores:,}; replay start → all applied)",
               f"{fmt_rate(ten.rate)} ({ten.polls:,} polls in {ten.seconds:.1f} s; "
               f"x{ratio:.2f} of 1x; load {ten.load})",
               f"≥ {SCALE_RATIO_TARGET}× the 1x rate",
               f"{one.stores:,} stores: {fmt_rate(one.rate)} ({one.polls:,} polls in "
               f"{one.seconds:.1f} s; load {one.load})", ratio >= SCALE_RATIO_TARGET),
        Row(f"scale: worker peak RSS (VmHWM) at 10x stores ({ten.stores:,})",
            f"{fmt_bytes(ten.hwm)} ({ten.hwm / ten.stores / 1024:.1f} KiB per store)",
            DASH, f"{one.stores:,} stores: {fmt_bytes(one.hwm)}"),
    ]


# ------------------------------------------------------------------ step: minute polls


@dataclass(frozen=True)
class MinuteRun:
    stores: int
    days: int
    backlog: int  # polls of the backlog
    live: int  # live polls
    per_poll: float  # changelog bytes per live poll
    backlog_bytes: int  # changelog bytes after the backlog
    value_bytes: int  # store-state key + value bytes (all stores)
    done_after_s: float  # replay end -> every live poll applied
    load: str


def step_minute(ctx: BenchContext) -> Findings:
    size = sizes(ctx.options)
    k, d = size.minute_stores, size.minute_days
    ctx.log(f"minute polls: {k:,} stores, {d} days kept, {size.live_minutes} live minutes ...")
    profiles = _generate(ctx, k, 1, "minute-profiles")
    ids = store_ids_of(profiles / "store_status.csv")
    start = to_us(DEFAULT_START)
    backlog, live = ctx.tmp / "minute-backlog.csv", ctx.tmp / "minute-live.csv"
    n_backlog = write_minute_polls(backlog, ids, start, d * US_PER_DAY // US_PER_MINUTE)
    write_minute_polls(live, ids, start + d * US_PER_DAY, size.live_minutes)
    with own_worker(ctx, "minute") as worker:
        run, notes = _minute_run(ctx, worker, profiles, backlog, live, n_backlog, d, len(ids))
    ctx.log(f"minute polls: {run.per_poll:,.0f} changelog bytes per live poll")
    return Findings(minute_rows(run), notes)


def _minute_run(ctx: BenchContext, worker: WorkerProcess, profiles: Path, backlog: Path,
                live: Path, n_backlog: int, days: int,
                stores: int) -> tuple[MinuteRun, list[str]]:
    tag = worker.env["STREAMPROC_APP_ID"]
    data_dir = broker_data_dir(ctx)
    harness.timed_cli(worker.env, "replay", "--polls", str(backlog), "--hours",
                      str(profiles / "menu_hours.csv"), "--timezones",
                      str(profiles / "timezones.csv"))
    worker.wait_applied(n_backlog, timeout=1800, every=0.05)
    before = settled_changelog_bytes(data_dir, tag)
    with profiled(ctx.options.profile, ctx.tmp, worker.pid, "minute-live") as notes:
        _, out = harness.timed_cli(worker.env, "replay", "--polls", str(live),
                                   "--speed", f"{LIVE_SPEED:g}")
        t_end = time.monotonic()
        sent, _ = harness.parse_replay_summary(out)
        worker.wait_applied(n_backlog + sent, timeout=600, every=0.02)
        done_after = time.monotonic() - t_end
    after = settled_changelog_bytes(data_dir, tag)
    _keys, value_bytes = harness.table_bytes(worker.state_dir / "worker")
    return MinuteRun(stores, days, n_backlog, sent, per_poll(before, after, sent), before,
                     value_bytes, done_after, harness.loadavg()), notes


def minute_rows(run: MinuteRun) -> list[Row]:
    per_store = run.value_bytes / run.stores if run.stores else 0
    return [
        judged(f"minute polls: changelog bytes per live poll ({run.stores:,} stores, "
               f"{run.days} day(s) of minute polls kept, `replay --speed 60`)",
               f"{run.per_poll:,.0f} B per poll ({run.live:,} live polls; worker done "
               f"{run.done_after_s:.2f} s after the replay; load {run.load})",
               f"≤ {PER_POLL_TARGET:,} B with 9 days kept",
               f"the poll itself: ~9 B; backlog {fmt_size(run.backlog_bytes)} for "
               f"{run.backlog:,} polls", run.per_poll <= PER_POLL_TARGET),
        Row(f"minute polls: `store-state` kept per store after {run.days} day(s)",
            f"{fmt_size(per_store)} per store ({fmt_size(run.value_bytes)} in all)", DASH,
            DASH),
    ]
