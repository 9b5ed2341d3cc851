"""Step 6: recovery of the main worker after SIGKILL: restarted on the same state dir, until
ready and until a report completes."""

from __future__ import annotations

import signal
import time

from bench.context import BenchContext, MainWorker
from bench.reports import wait_report_complete
from bench.state import StateSize, state_size
from bench.table import DASH, Findings, Row, fmt_bytes, fmt_s


def step_recovery(ctx: BenchContext, main: MainWorker) -> Findings:
    ctx.log("recovery after SIGKILL ...")
    worker, timeout = main.process, main.settings.session_timeout_s
    weeks = "4 weeks" if ctx.options.runs("weeks") else "1 week"
    before = state_size(main)
    worker.kill(signal.SIGKILL)
    t_kill = time.monotonic()
    worker.spawn()
    worker.wait_ready(600)
    ready_s = time.monotonic() - t_kill
    report_s = wait_report_complete(worker.base_url, timeout=600)
    first_report_s = time.monotonic() - t_kill
    found = Findings([
        Row(f"recovery after `kill -9` ({weeks} of state)",
            f"ready in {ready_s:.1f} s; first report Complete after {first_report_s:.1f} s "
            f"(the report itself {fmt_s(report_s)})", DASH, f"session timeout {timeout:g} s"),
        _restart_row(before, state_size(main)),
    ])
    if ready_s > 0.75 * timeout:
        found.notes.append(_session_note(timeout))
    return found


def _restart_row(before: StateSize, after: StateSize) -> Row:
    return Row("after the restart: worker RSS; RocksDB on disk",
               f"{fmt_bytes(after.rss)}; {fmt_bytes(after.disk)} "
               f"({after.keys:,} keys, {fmt_bytes(after.table)} of key+value)",
               DASH, f"before the kill: RSS {fmt_bytes(before.rss)}, disk "
               f"{fmt_bytes(before.disk)} (RocksDB flushes its write-ahead log and "
               "memtables to SST files when reopened)")


def _session_note(timeout: float) -> str:
    return ("Recovery is bounded by the consumer group: the restarted worker joins the "
            "same group, and the coordinator waits for the killed member's session "
            f"(`broker_session_timeout`, {timeout:g} s) to expire before it assigns "
            "the partitions; the tables themselves come back from the local RocksDB files "
            "plus the changelog tail.")
