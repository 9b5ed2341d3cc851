"""The soak's last check: with every poll replayed and every worker settled, the stream's
report must be the batch command's byte for byte, also with ``observations_last_week``:
one poll lost (or counted twice) anywhere in the soak changes a store's count there, even
when it changes no uptime figure.

The batch side here is the real command (`streamproc report`), and the soak's in-process
oracle must give the same bytes (else the per-report checks would rest on a wrong oracle).
"""

from __future__ import annotations

import time
from pathlib import Path

from streamproc import config
from streamproc.sandbox import run_cli
from streamproc.sandbox.http import request
from streamproc.soak import reports
from streamproc.soak.checks import Oracle, observation_deficit
from streamproc.soak.data import source_args
from streamproc.soak.outcome import FinalCheck
from streamproc.soak.reports import COMPLETE, Follower, ReportBook, Tracked
from streamproc.soak.restore_check import changelog_topic, check_restore
from streamproc.soak.schedule import COUNTED, TRIGGER, Action

SNAPSHOT_PATIENCE_S = 120.0
FINAL_REPORT_PATIENCE_S = 150.0


def batch_report(env: dict[str, str], data: Path, out: Path, *extra: str) -> str:
    """`streamproc report` on the whole data set; its CSV."""
    run_cli(env, "report", *source_args(data), "--out", str(out), *extra)
    return out.read_text()


def final_check(env: dict[str, str], run_dir: Path, oracle: Oracle, fleet, publisher,
                book: ReportBook, follower: Follower, log) -> FinalCheck:
    check = FinalCheck()
    data = oracle.data
    batch = batch_report(env, data.path, run_dir / "batch.csv")
    counted = batch_report(env, data.path, run_dir / "batch_counted.csv", "--columns", COUNTED)
    check.oracle_equal = (oracle.expected(data.last_us) == batch
                          and oracle.expected(data.last_us, (COUNTED,)) == counted)
    if not check.oracle_equal:
        check.problems.append("the soak's oracle differs from `streamproc report`")
    got = _final_report(fleet, publisher, book, follower, log, (COUNTED,), check)
    if got is not None:
        check.counted_equal = got == counted
        check.lacking, check.differing = observation_deficit(got, counted)
        log(f"final report with {COUNTED}: {_equal(check.counted_equal)} the batch report; "
            f"{check.lacking} observations lacking, {check.differing} stores differ")
    if got is not None:  # else report generation is stuck: a second try would wait as long
        got = _final_report(fleet, publisher, book, follower, log, (), check)
        check.default_equal = got == batch
    for name, handle in fleet.running_named():
        text = _snapshot(handle.base_url)
        check.snapshots[name] = text == batch
        log(f"snapshot of {name}: {_equal(text == batch)} the batch report")
    settings = config.load(env)
    check.restore = check_restore(settings.bootstrap, changelog_topic(settings.app_id),
                                  data.polls, data.last_us)
    log(f"the store-state changelog alone restores {check.restore.missing} polls short, "
        f"{check.restore.extra} extra, over {check.restore.stores} stores")
    check.problems += [f"changelog: {e}" for e in check.restore.examples]
    return check


def _equal(same: bool) -> str:
    return "equal to" if same else "DIFFERENT from"


def _final_report(fleet, publisher, book: ReportBook, follower: Follower, log,
                  columns: tuple[str, ...], check: FinalCheck) -> str | None:
    """A report triggered now (no as_of) and followed to its end; its CSV if Complete and
    checked exact at the last poll."""
    action = Action(0.0, TRIGGER, columns=columns)
    tracked = reports.trigger(action, fleet, publisher, book, log)
    if tracked is None:
        check.problems.append(f"final trigger {columns} not accepted")
        return None
    deadline = time.monotonic() + FINAL_REPORT_PATIENCE_S
    while tracked.status == reports.RUNNING and time.monotonic() < deadline:
        time.sleep(reports.FOLLOW_EVERY_S)
    return _checked(tracked, oracle_last=follower.oracle.data.last_us, check=check)


def _checked(tracked: Tracked, oracle_last: int, check: FinalCheck) -> str | None:
    if tracked.status != COMPLETE:
        check.problems.append(f"final report {tracked.report_id}: {tracked.status} "
                              f"{tracked.error}")
        return None
    if tracked.now_us != oracle_last:
        check.problems.append(f"final report {tracked.report_id}: now is not the last poll")
    return tracked.csv


def _snapshot(base_url: str) -> str:
    """``GET /snapshot.csv``, retried while the worker answers 503 or not at all."""
    deadline = time.monotonic() + SNAPSHOT_PATIENCE_S
    last = ""
    while time.monotonic() < deadline:
        try:
            status, _, body = request(base_url, "/snapshot.csv", timeout=60)
        except reports.HTTP_ERRORS as exc:
            status, body = None, repr(exc).encode()
        if status == 200:
            return body.decode()
        last = f"{status} {body[:200]!r}"
        time.sleep(1.0)
    return f"(no snapshot: {last})"
