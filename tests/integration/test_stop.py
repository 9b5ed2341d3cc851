"""A worker told to stop (SIGTERM, as a deploy does) stops, whatever requests are open."""

from __future__ import annotations

import signal
import time

from streamproc.sandbox import WorkerProcess
from tests.support.live import SseReader


def test_sigterm_with_a_live_stream_open_stops_the_worker(worker_env, tmp_path):
    handle = WorkerProcess(worker_env, tmp_path / "worker.log", grace=25.0)
    handle.start()
    SseReader(handle.base_url)  # a browser tab on the live page
    process, began = handle.process, time.monotonic()
    handle.kill(signal.SIGTERM)  # SIGKILL if still running after the grace
    took = time.monotonic() - began
    assert process.returncode != -signal.SIGKILL, (
        f"not stopped {took:.0f} s after SIGTERM; killed:\n{handle.tail()}")
