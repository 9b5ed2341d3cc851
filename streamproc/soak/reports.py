"""Report triggers as a client makes them, and the follow-up of every report to its end.

A trigger goes to the worker the schedule named; a 503 (a rebalance, a worker starting or
stopping), a 429 or a refused connection is retried on another running worker, as a client
would, for up to :data:`TRIGGER_PATIENCE_S`. Just before each attempt the trigger notes the
event time the broker has acknowledged (``acked_us``): the report must include every poll up
to it (pinned triggers ask for exactly that ``as_of``).

The :class:`Follower` asks a running worker for every open report every half second until it
is Complete (then checked, see ``checks``), Failed (allowed only with the bound message
naming ``STREAMPROC_REPORT_UNSTABLE_S``), or unknown for :data:`LOST_AFTER_S` (lost).
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from streamproc.core.timeparse import parse_timestamp, to_iso
from streamproc.sandbox.http import JSON, request
from streamproc.soak.checks import Oracle, Verdict
from streamproc.soak.schedule import Action

RUNNING, COMPLETE, FAILED, LOST = "Running", "Complete", "Failed", "Lost"
UNSTABLE_MARK = "STREAMPROC_REPORT_UNSTABLE_S"  # in the one allowed failure's message
# ... unless what it wraps is a worker whose tables did not catch up with the broker: the
# bound then ran out while the assignment stood still, a stall and not a moving assignment.
STALLED_MARK = "tables still behind the broker"
TRIGGER_PATIENCE_S = 180.0
LOST_AFTER_S = 120.0  # an id answered 404 this long is lost
FOLLOW_EVERY_S = 0.5
HTTP_ERRORS = (OSError, http.client.HTTPException, ValueError)


@dataclass
class Tracked:
    """One accepted trigger and what became of its report."""

    report_id: str
    pinned: bool
    columns: tuple[str, ...]
    acked_us: int  # every poll up to this event time was acknowledged before the trigger
    worker: str  # where the trigger was accepted
    accepted: float  # time.monotonic()
    status: str = RUNNING
    now_us: int | None = None
    error: str = ""
    verdict: Verdict | None = None
    missing_since: float | None = None
    csv: str = ""  # the report, once Complete

    @property
    def allowed_failure(self) -> bool:
        """Failed with the stated bound on an unstable assignment, and for that reason."""
        return (self.status == FAILED and UNSTABLE_MARK in self.error
                and STALLED_MARK not in self.error)


class ReportBook:
    """Every tracked report, and the triggers under way (thread-safe)."""

    def __init__(self) -> None:
        self.reports: dict[str, Tracked] = {}
        self.coalesced = 0  # triggers answered with the id of a report still running
        self.unaccepted: list[str] = []  # triggers no worker accepted in time
        self.errors: list[str] = []  # answers no client should get
        self._attempts: dict[int, int] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()

    def add(self, tracked: Tracked) -> Tracked:
        """Record an accepted trigger; the report it names (a coalesced trigger got the id
        of a report still running: that report, whose first trigger's acknowledged time
        stays its own)."""
        with self._lock:
            known = self.reports.get(tracked.report_id)
            if known is not None:
                self.coalesced += 1
                return known
            self.reports[tracked.report_id] = tracked
            return tracked

    def open(self) -> list[Tracked]:
        with self._lock:
            return [t for t in self.reports.values() if t.status == RUNNING]

    def all(self) -> list[Tracked]:
        with self._lock:
            return list(self.reports.values())

    @contextlib.contextmanager
    def attempt(self, acked_us: int) -> Iterator[int]:
        """A trigger attempt resting on ``acked_us``, counted in :meth:`floor` meanwhile."""
        key = next(self._ids)
        with self._lock:
            self._attempts[key] = acked_us
        try:
            yield acked_us
        finally:
            with self._lock:
                del self._attempts[key]

    def floor(self, acked_us: int) -> int:
        """The latest event time a burst may repeat: at or before the acknowledged time of
        every open report and trigger under way, so that a burst's polls are inside every
        cut a report may be checked against (``checks``)."""
        with self._lock:
            bounds = [t.acked_us for t in self.reports.values() if t.status == RUNNING]
            return min([acked_us, *bounds, *self._attempts.values()])


def trigger(action: Action, fleet, publisher, book: ReportBook, log) -> Tracked | None:
    """Trigger the report of ``action`` as a client would (see the module docstring)."""
    deadline = time.monotonic() + TRIGGER_PATIENCE_S
    preferred: str | None = action.worker
    last = ""
    while time.monotonic() < deadline:
        picked = fleet.pick(preferred)
        preferred = None  # after a failure: any running worker
        if picked is None:
            time.sleep(FOLLOW_EVERY_S)
            continue
        name, handle = picked
        with book.attempt(publisher.acked_us) as acked:
            status, answer, retry = _post_trigger(handle.base_url, action, acked)
            if status == 200:
                return book.add(Tracked(json.loads(answer)["report_id"], action.pinned,
                                        action.columns, acked, name, time.monotonic()))
        last = f"{name}: {status} {answer[:200]!r}"
        if status not in (None, 429, 503):
            book.errors.append(f"trigger answered {last}")
            return None
        time.sleep(retry)
    book.unaccepted.append(f"{action.describe()} at {action.at:.1f}s; last answer {last}")
    log(f"no worker accepted a trigger in {TRIGGER_PATIENCE_S:.0f}s (last: {last})")
    return None


def _post_trigger(base_url: str, action: Action, acked_us: int) -> tuple[int | None, bytes, float]:
    """(status or None when unreachable, body, seconds to wait before another attempt)."""
    body: dict = {"as_of": to_iso(acked_us)} if action.pinned else {}
    if action.columns:
        body["columns"] = list(action.columns)
    try:
        status, headers, answer = request(base_url, "/trigger_report", "POST",
                                          json.dumps(body).encode(), JSON, timeout=30)
    except HTTP_ERRORS as exc:
        return None, repr(exc).encode(), FOLLOW_EVERY_S
    retry = headers.get("Retry-After", "")
    return status, answer, min(float(retry), 5.0) if retry.isdigit() else FOLLOW_EVERY_S


class Follower:
    """Follows every open report of ``book`` to its end, on a thread of its own."""

    def __init__(self, book: ReportBook, fleet, oracle: Oracle, publisher, log) -> None:
        self.book, self.fleet, self.oracle, self.publisher = book, fleet, oracle, publisher
        self.log = log
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="follower", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def wait_closed(self, timeout: float) -> list[Tracked]:
        """Until no report is open, for up to ``timeout`` seconds; those still open."""
        deadline = time.monotonic() + timeout
        while self.book.open() and time.monotonic() < deadline:
            time.sleep(FOLLOW_EVERY_S)
        return self.book.open()

    def _run(self) -> None:
        while not self._stop.is_set():
            for tracked in self.book.open():
                try:
                    self.follow(tracked)
                except Exception as exc:  # noqa: BLE001 - a soak bug must not hide reports
                    self.book.errors.append(f"following {tracked.report_id}: {exc!r}")
            self._stop.wait(FOLLOW_EVERY_S)

    def follow(self, tracked: Tracked) -> None:
        """Ask once; finish the report when it is done."""
        picked = self.fleet.pick()
        if picked is None:
            return
        base = picked[1].base_url
        path = f"/get_report/{tracked.report_id}"
        doc: dict = {}
        try:
            status, headers, body = request(base, path + "?format=json", timeout=15)
            if status == 200 and headers.get("X-Report-Status") == COMPLETE:
                doc = json.loads(body)
                status, headers, body = request(base, path, timeout=15)
        except HTTP_ERRORS:
            return
        if status == 404:
            self._missing(tracked)
            return
        tracked.missing_since = None
        state = headers.get("X-Report-Status")
        if status != 200 or state == RUNNING:
            if status not in (200, 503):
                self.book.errors.append(f"get_report {tracked.report_id}: {status} {body[:200]!r}")
            return
        if state == COMPLETE:
            self._complete(tracked, doc, body.decode())
        else:
            self._finish(tracked, FAILED, json.loads(body).get("error") or "")

    def _missing(self, tracked: Tracked) -> None:
        now = time.monotonic()
        tracked.missing_since = tracked.missing_since or now
        if now - tracked.missing_since > LOST_AFTER_S:
            self._finish(tracked, LOST, f"unknown (404) for {LOST_AFTER_S:.0f}s")

    def _complete(self, tracked: Tracked, doc: dict, csv: str) -> None:
        tracked.now_us = parse_timestamp(doc["now"]) if doc.get("now") else None
        tracked.csv = csv
        tracked.verdict = self.judge(tracked, csv)
        self._finish(tracked, COMPLETE, "")

    def judge(self, tracked: Tracked, csv: str) -> Verdict:
        """The report against the batch report at its watermark (``checks``)."""
        now, acked = tracked.now_us, tracked.acked_us
        if now is None:
            return Verdict(False, False, "no watermark in the record")
        if tracked.pinned:
            if now != acked:
                return Verdict(False, False, f"now {to_iso(now)} != as_of {to_iso(acked)}")
            return self.oracle.check(csv, now, now, tracked.columns)
        latest = self.oracle.latest_poll(acked)
        if latest is not None and now < latest:
            return Verdict(False, False, f"watermark {to_iso(now)} behind the acknowledged "
                                         f"poll {to_iso(latest)}")
        if now > self.publisher.sent_us or not self.oracle.is_poll_time(now):
            return Verdict(False, False, f"watermark {to_iso(now)} is no poll sent")
        return self.oracle.check(csv, now, min(acked, now), tracked.columns)

    def _finish(self, tracked: Tracked, status: str, error: str) -> None:
        """Record the outcome; a good one is logged to the file only, a bad one loudly."""
        tracked.status, tracked.error = status, error
        took = time.monotonic() - tracked.accepted
        verdict = tracked.verdict
        if status == COMPLETE and verdict is not None:
            kind = "pinned" if tracked.pinned else "at watermark"
            how = ("exact" if verdict.exact else "at a cut") if verdict.ok else \
                f"WRONG: {verdict.detail}"
            now = to_iso(tracked.now_us) if tracked.now_us is not None else "none"
            say = self.log.quiet if verdict.ok else self.log
            say(f"report {tracked.report_id[:8]} ({kind}) Complete in {took:.1f}s, "
                f"now {now}: {how}")
        else:
            say = self.log.quiet if tracked.allowed_failure else self.log
            say(f"report {tracked.report_id[:8]} {status} after {took:.1f}s: {error}")
