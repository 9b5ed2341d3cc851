"""A second worker joins and then leaves with SIGTERM (a deploy) while reports are triggered
every second on the first: every report ends Complete and equal to the batch report. A
report that met the departing peer used to fail ("another worker did not answer ...
Server disconnected") or stay Running."""

from __future__ import annotations

import json
import os
import signal
import time

from streamproc.sandbox import wait_for
from streamproc.sandbox.http import JSON, request
from tests.support.data import replay
from tests.support.worker_fixture import peer_worker

TRIGGERS, JOIN_AT, LEAVE_AT = 40, 5, 28


def _final(base: str, report_id: str) -> tuple[str, bytes]:
    def done() -> tuple[str, bytes] | None:
        status, headers, body = request(base, f"/get_report/{report_id}", timeout=30)
        state = headers.get("X-Report-Status")
        return (state, body) if status == 200 and state in ("Complete", "Failed") else None

    return wait_for(done, 180, f"report {report_id} to finish", every=0.5)


def test_every_report_rides_through_a_peer_joining_and_leaving(worker_env, tmp_path,
                                                               dataset, expected, say):
    env = worker_env  # the default session timeout, as users run it
    a, b = peer_worker(env, tmp_path, "a"), peer_worker(env, tmp_path, "b")
    try:
        a.start()
        replay(a.env, dataset)
        ids = []
        for k in range(TRIGGERS):
            if k == JOIN_AT:
                b.spawn()
            if k == LEAVE_AT:  # a deploy: SIGTERM, and the triggers go on while it stops
                os.killpg(b.pid, signal.SIGTERM)
            ids.append(wait_for(lambda: _try(a.base_url), 60, f"trigger {k}", every=0.2))
            time.sleep(1)
        outcomes = [_final(a.base_url, rid) for rid in ids]
        a.check_alive()
    finally:
        a.kill()
        b.kill()
    failed = [json.loads(body)["error"] for state, body in outcomes if state == "Failed"]
    wrong = [rid for rid, (state, body) in zip(ids, outcomes, strict=True)
             if state == "Complete" and body.decode() != expected]
    say(f"{len(ids)} reports through a join and a SIGTERM: {len(failed)} Failed, "
        f"{len(wrong)} wrong; {sorted(set(failed))[:2]}")
    assert not failed
    assert not wrong


def _try(base: str) -> str | None:
    """A trigger's id, or None while the partitions move (503, or the worker stopping under
    the request: the client retries)."""
    try:
        status, _, body = request(base, "/trigger_report", "POST", b"{}", JSON, timeout=30)
    except OSError:
        return None
    return json.loads(body)["report_id"] if status == 200 else None
