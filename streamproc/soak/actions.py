"""Performing a schedule: each action at its time, on the cluster, the workers and the API.

The timetable never waits for an action: worker actions run one after the other on a lane of
their own, broker actions on another (so a restart always follows its kill, and a kill waits
until the cluster is whole again: ``Brokers.wait_in_sync``), triggers and bursts on a pool.
How late each action ran is logged; which action it is never depends on timing.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from streamproc.config import Settings
from streamproc.sandbox.http import request
from streamproc.soak import reports
from streamproc.soak.brokers import Brokers
from streamproc.soak.code_guard import CodeChanged
from streamproc.soak.data import DataSet, messages, ndjson
from streamproc.soak.fleet import Fleet
from streamproc.soak.publisher import LivePublisher, publish_events
from streamproc.soak.schedule import (
    BURST,
    KILL_BROKER,
    KILL_WORKER,
    RESTART_BROKER,
    START_WORKER,
    STOP_WORKER,
    TRIGGER,
    VIA_KAFKA,
    Action,
    Schedule,
)

LATE_S = 2.0  # an action this late is logged as such
BURST_PATIENCE_S = 120.0
NDJSON = {"Content-Type": "application/x-ndjson"}


@dataclass
class Tally:
    """What was done: actions by kind, events sent, and what went wrong doing it."""

    done: Counter = field(default_factory=Counter)
    events: Counter = field(default_factory=Counter)  # by VIA_KAFKA / VIA_HTTP
    bursts: Counter = field(default_factory=Counter)
    most_late_s: float = 0.0
    errors: list[str] = field(default_factory=list)


@dataclass
class Executor:
    settings: Settings  # the pipeline's (topic names)
    brokers: Brokers
    fleet: Fleet
    publisher: LivePublisher
    book: reports.ReportBook
    data: DataSet
    log: object
    tally: Tally = field(default_factory=Tally)
    _lanes: dict[str, ThreadPoolExecutor] = field(default_factory=dict)
    _futures: list[Future] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, schedule: Schedule, started: float) -> None:
        """Hand every action to its lane at its time; return at the end of the duration."""
        self._lanes = {"workers": ThreadPoolExecutor(1, "soak-workers"),
                       "brokers": ThreadPoolExecutor(1, "soak-brokers"),
                       "api": ThreadPoolExecutor(8, "soak-api")}
        for action in schedule.actions:
            time.sleep(max(0.0, started + action.at - time.monotonic()))
            self._futures.append(self._lanes[_lane(action)].submit(self._do, action, started))
        time.sleep(max(0.0, started + schedule.options.duration_s - time.monotonic()))

    def drain(self) -> None:
        """Wait for every action handed out; their errors go to the tally."""
        for lane in self._lanes.values():
            lane.shutdown(wait=True)
        for future in self._futures:
            if future.exception() is not None:
                self.tally.errors.append(repr(future.exception()))

    def _do(self, action: Action, started: float) -> None:
        late = time.monotonic() - started - action.at
        with self._lock:
            self.tally.most_late_s = max(self.tally.most_late_s, late)
        note = f" ({late:.1f}s late)" if late > LATE_S else ""
        if action.kind not in (TRIGGER,):
            self.log(action.describe() + note)
        else:
            self.log.quiet(action.describe() + note)
        {KILL_WORKER: self._kill_worker, STOP_WORKER: self._stop_worker,
         START_WORKER: self._start_worker, KILL_BROKER: self._kill_broker,
         RESTART_BROKER: self._restart_broker, TRIGGER: self._trigger,
         BURST: self._burst}[action.kind](action)
        with self._lock:
            self.tally.done[action.kind] += 1

    def _kill_worker(self, action: Action) -> None:
        pid = self.fleet.kill(action.worker)
        self.log.quiet(f"worker {action.worker} (pid {pid}) SIGKILLed")

    def _stop_worker(self, action: Action) -> None:
        pid = self.fleet.stop(action.worker)
        self.log.quiet(f"worker {action.worker} (pid {pid}) sent SIGTERM")

    def _start_worker(self, action: Action) -> None:
        try:
            handle = self.fleet.start(action.worker)
        except CodeChanged as exc:
            self.log(f"NOT started: {exc}")
            raise
        self.log.quiet(f"worker {action.worker} started: pid {handle.pid}, {handle.base_url}")

    def _kill_broker(self, action: Action) -> None:
        waited = self.brokers.wait_in_sync()
        if waited > 1.0:
            self.log(f"waited {waited:.1f}s for every replica to be in sync before the kill")
        self.brokers.kill(action.node)

    def _restart_broker(self, action: Action) -> None:
        took = self.brokers.restart(action.node)
        self.log(f"broker node {action.node} answers again ({took:.1f}s)")

    def _trigger(self, action: Action) -> None:
        reports.trigger(action, self.fleet, self.publisher, self.book, self.log)

    def _burst(self, action: Action) -> None:
        until = self.book.floor(self.publisher.acked_us)
        events = self.data.burst(action.events, until, action.salt)
        if action.via == VIA_KAFKA:
            attempts = publish_events(self.brokers.bootstrap,
                                      messages(self.settings.topic_events, events))
            detail = f"published in {attempts} attempt(s)"
        else:
            detail = self._post_events(action.worker, events)
        with self._lock:
            self.tally.events[action.via] += len(events)
            self.tally.bursts[action.via] += 1
        self.log.quiet(f"burst of {len(events)} events ({action.via}) {detail}")

    def _post_events(self, preferred: str | None, events: list[dict]) -> str:
        """``POST /events`` until a worker accepted the body (503 and refused connections
        are retried elsewhere); every line must be accepted."""
        body, last = ndjson(events), ""
        deadline = time.monotonic() + BURST_PATIENCE_S
        while time.monotonic() < deadline:
            picked = self.fleet.pick(preferred)
            preferred = None
            if picked is not None:
                try:
                    status, _, answer = request(picked[1].base_url, "/events", "POST", body,
                                                NDJSON, timeout=60)
                except reports.HTTP_ERRORS as exc:
                    status, answer = None, repr(exc).encode()
                if status == 200:
                    return self._accepted(picked[0], json.loads(answer), len(events))
                last = f"{picked[0]}: {status} {answer[:200]!r}"
                if status not in (None, 503):
                    break
            time.sleep(1.0)
        self.tally.errors.append(f"POST /events not accepted: {last}")
        return f"NOT accepted ({last})"

    def _accepted(self, name: str, answer: dict, sent: int) -> str:
        if answer.get("accepted") != sent or answer.get("rejected"):
            self.tally.errors.append(f"POST /events on {name} answered {answer}")
        return f"accepted by {name}: {answer.get('accepted')} events"


def _lane(action: Action) -> str:
    if action.kind in (KILL_WORKER, STOP_WORKER, START_WORKER):
        return "workers"
    if action.kind in (KILL_BROKER, RESTART_BROKER):
        return "brokers"
    return "api"
