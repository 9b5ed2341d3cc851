"""Ready means ready: from the first moment ``GET /health/ready`` answers 200 (and ``/health``
says ``"ready": true``), ``POST /trigger_report`` is accepted; before it, the probe answers
503 with the reason while ``/health/live`` already answers 200."""

from __future__ import annotations

import json
import time

from streamproc.sandbox import WorkerProcess
from streamproc.sandbox.http import JSON, request


def _probe(base: str, path: str) -> tuple[int, dict] | None:
    try:
        status, _, body = request(base, path, timeout=5)
    except OSError:  # the web server is not listening yet
        return None
    return status, json.loads(body)


def test_a_trigger_is_accepted_the_moment_the_worker_says_ready(worker_env, tmp_path):
    handle = WorkerProcess(worker_env, tmp_path / "worker.log")
    handle.spawn()
    try:
        not_ready, live_before_ready = [], False
        deadline = time.monotonic() + 90
        while True:
            handle.check_alive()
            assert time.monotonic() < deadline, f"never ready: {not_ready[-3:]}"
            answer = _probe(handle.base_url, "/health/ready")
            if answer is None:
                time.sleep(0.02)
                continue
            status, body = answer
            if status == 200:
                break
            assert status == 503 and body["ready"] is False and body["not_ready"], body
            not_ready.append(body["not_ready"])
            live_before_ready = live_before_ready or _probe(handle.base_url,
                                                            "/health/live")[0] == 200
            time.sleep(0.02)
        status, _, trigger = request(handle.base_url, "/trigger_report", "POST", b"{}", JSON,
                                     timeout=30)
        health = handle.health()
    finally:
        handle.kill()
    assert status == 200, trigger
    assert json.loads(trigger)["report_id"]
    assert health["ready"] is True and health["not_ready"] is None
    assert not_ready, "the probe said 503 at least once during start-up"
    assert live_before_ready, "live before ready"
