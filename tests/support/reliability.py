"""Helpers of the reliability suite: background commands, snapshots retried through
rebalances, worker restarts with timings (topics read and written raw: tests/support/kafka.py).

Every test builds its own isolated pipeline (topics, consumer group, state dirs, web ports)
with ``streamproc.sandbox.isolated_env`` and compares the worker's report with the batch
command (``streamproc report``, tests/support/data.py) on the same files, byte for byte.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from streamproc.sandbox import WorkerProcess, cli, stop_group
from streamproc.sandbox.http import request

# A SIGKILLed member stays in the consumer group until its session expires (Faust's default
# is 60 s), and the rebalance that hands its partitions to a restarted or surviving worker
# waits for that. Tests that kill workers lower it so several kills fit in a bounded test;
# the README's Guarantees section gives both figures.
FAST_FAILOVER = {"BROKER_SESSION_TIMEOUT": "10", "BROKER_HEARTBEAT_INTERVAL": "1"}


class Background:
    """A `streamproc` command running in the background (its own process group)."""

    def __init__(self, env: dict[str, str], args: list[str], log: Path) -> None:
        self.log = log
        self.args = args
        self.started = time.monotonic()
        self.proc = cli.spawn(env, args, log)

    def running(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float = 180.0) -> int:
        return self.proc.wait(timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        stop_group(self.proc, signal.SIGKILL)


def snapshot(handle: WorkerProcess, timeout: float = 150.0) -> str:
    """The worker's report CSV; retried while a rebalance makes it answer 503."""
    deadline = time.monotonic() + timeout
    while True:
        status, _, body = request(handle.base_url, "/snapshot.csv", timeout=timeout)
        if status == 200:
            return body.decode()
        if time.monotonic() > deadline:
            try:
                doc = handle.health()
            except OSError as exc:
                doc = {"error": str(exc)}
            raise AssertionError(f"snapshot kept failing: {status} {body[:300]!r}\n"
                                 f"health: {doc}\n{handle.tail()}")
        time.sleep(1.0)


def owned_partitions(handle: WorkerProcess, timeout: float = 30.0) -> list[int]:
    """Polls partitions this worker processes: its answer to the peers' catch-up call
    (``/internal/*`` answers the peer secret alone). ValueError while it answers otherwise
    (``wait_for`` retries it)."""
    secret = handle.env.get("STREAMPROC_PEER_SECRET", "")
    status, _, body = request(handle.base_url, "/internal/catch-up", "POST",
                              json.dumps({"targets": [], "timeout": 5}).encode(),
                              {"Authorization": f"Bearer {secret}"}, timeout=timeout)
    if status != 200:
        raise ValueError(f"catch-up answered {status}: {body[:200]!r}")
    return json.loads(body)["partitions"]


def first_diff(a: str, b: str) -> str:
    """A short description of where two report CSVs differ."""
    la, lb = a.splitlines(), b.splitlines()
    for i, (x, y) in enumerate(zip(la, lb, strict=False)):
        if x != y:
            return f"line {i + 1}: worker {x!r} != batch {y!r}"
    return f"{len(la)} lines vs {len(lb)} lines"


@dataclass
class Recovery:
    killed_to_ready: float
    killed_to_snapshot: float


def kill_and_restart(handle: WorkerProcess, sig: int = signal.SIGKILL,
                     before_start: Callable[[], None] | None = None,
                     timeout: float = 120.0) -> Recovery:
    """Kill the worker, start it again with the same env and state dir, wait until it is
    ready and answers a snapshot; return the times from the kill."""
    killed = time.monotonic()
    handle.kill(sig)
    if before_start is not None:
        before_start()
    handle.start(timeout=timeout)
    ready = time.monotonic()
    snapshot(handle, timeout=timeout)
    return Recovery(ready - killed, time.monotonic() - killed)
