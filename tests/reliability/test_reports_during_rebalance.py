"""20 reports triggered while a worker joins and another leaves: every report comes out
Complete and equal to the batch report (no missing, zero or doubled rows)."""

from __future__ import annotations

import json
import signal
import threading
import time

from streamproc.sandbox import wait_for
from streamproc.sandbox.http import JSON, request
from tests.support.data import replay
from tests.support.worker_fixture import peer_worker, wait_split

FAST = {"BROKER_SESSION_TIMEOUT": "8", "BROKER_HEARTBEAT_INTERVAL": "1"}
REPORTS = 20


def _live(handles) -> list[str]:
    return [h.base_url for h in handles if h.process is not None and h.process.poll() is None]


def _trigger(handles, k: int) -> str:
    """Trigger through a live worker (the k-th, then the next ones), retrying while the
    partitions move (503) or a worker stops under the request; the live set is read again on
    every try, since a worker leaves meanwhile."""
    tries = iter(range(k, k + 10_000))
    seen: list[object] = []

    def once() -> str | None:
        bases = _live(handles)
        base = bases[next(tries) % len(bases)]
        try:
            status, _, body = request(base, "/trigger_report", "POST", b"{}", JSON, timeout=30)
        except OSError as exc:
            seen.append(f"{base}: {exc}")
            return None
        if status != 200:
            seen.append(f"{base}: {status} {body[:120]!r}")
            return None
        return json.loads(body)["report_id"]

    try:
        return wait_for(once, 120, f"report {k} to be accepted", every=0.5)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last answers: {seen[-5:]}") from None


def _outcome(bases: list[str], report_id: str) -> tuple[str, bytes]:
    def done() -> tuple[str, bytes] | None:
        for base in bases:
            try:
                status, headers, body = request(base, f"/get_report/{report_id}", timeout=30)
            except OSError:
                continue
            state = headers.get("X-Report-Status")
            if status == 200 and state in ("Complete", "Failed"):
                return state, body
        return None

    return wait_for(done, 240, f"report {report_id} to finish", every=1.0)


def test_reports_during_a_join_and_a_leave(worker_env, tmp_path, dataset, expected, say):
    env = dict(worker_env, **FAST)
    a, b, c = (peer_worker(env, tmp_path, name) for name in "abc")
    try:
        a.start()
        b.start()
        replay(a.env, dataset)
        ids: list[str] = []
        churn = threading.Thread(target=_join_and_leave, args=(a, c), daemon=True)
        churn.start()
        for k in range(REPORTS):
            ids.append(_trigger((a, b, c), k))
            time.sleep(0.7)
        churn.join(timeout=120)
        bases = [b.base_url, c.base_url]
        split = wait_split([b, c], 90)
        outcomes = [_outcome(bases, rid) for rid in ids]
    finally:
        for handle in (a, b, c):
            handle.kill()
    complete = [body for state, body in outcomes if state == "Complete"]
    failed = [json.loads(body)["error"] for state, body in outcomes if state == "Failed"]
    retries = sum(h.log_path.read_text(errors="replace").count("; retrying") for h in (a, b, c))
    say(f"{len(complete)} Complete, {len(failed)} Failed: {sorted(set(failed))[:3]}; "
        f"snapshot attempts retried: {retries}; "
        f"partitions after the churn (b, c): {split}")
    assert all(body.decode() == expected for body in complete)
    assert not failed, "a report rides through a join and a leave"


def _join_and_leave(leaving, joining) -> None:
    time.sleep(2)
    joining.start(timeout=120)
    time.sleep(3)
    leaving.kill(signal.SIGTERM)
