"""One `streamproc worker` process with an isolated environment, for tests and the bench."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamproc.sandbox.cli as cli
import streamproc.sandbox.http as http
from streamproc.sandbox.env import free_port
from streamproc.sandbox.waiting import WaitTimeout, wait_for


def stop_group(process: subprocess.Popen, sig: int = signal.SIGKILL, grace: float = 20.0) -> None:
    """Signal a worker started with ``start_new_session=True`` (its whole process group) and
    wait; SIGKILL it if it is still there after ``grace`` seconds."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)


def log_tail(path: Path, lines: int) -> str:
    """The last lines of a worker's log, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class WorkerExited(AssertionError):
    """The worker process ended while it was waited for."""


@dataclass
class WorkerProcess:
    """``python -m streamproc worker`` with ``env`` (see :func:`isolated_env`), its output in
    ``log_path``, in its own process group. ``env`` is also what to give any other command
    (``streamproc replay``, ``streamproc snapshot``) so it talks to the same topics."""

    env: dict[str, str]
    log_path: Path
    grace: float = 20.0  # seconds between the stop signal and SIGKILL
    process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.env['STREAMPROC_WEB_PORT']}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def state_dir(self) -> Path:
        return Path(self.env["STREAMPROC_STATE_DIR"])

    def spawn(self) -> None:
        """Start the process (see :meth:`wait_ready`)."""
        self.process = cli.spawn(self.env, ["worker"], self.log_path)

    def start(self, timeout: float = 90.0) -> dict:
        """Start the process and wait until it is ready; its /health."""
        self.spawn()
        return self.wait_ready(timeout)

    @contextlib.contextmanager
    def running(self, timeout: float = 90.0) -> Iterator[WorkerProcess]:
        """Started and ready inside the block; stopped (SIGTERM) after it, also on errors."""
        try:
            self.start(timeout)
            yield self
        finally:
            self.kill(signal.SIGTERM)

    def get_json(self, path: str, timeout: float = 10.0) -> Any:
        return http.get_json(self.base_url, path, timeout)

    def post_json(self, path: str, body: Any, timeout: float = 60.0) -> Any:
        return http.post_json(self.base_url, path, body, timeout)

    def health(self) -> dict:
        """``GET /health``; raises while the worker does not answer."""
        return self.get_json("/health", timeout=5)

    def try_health(self) -> dict | None:
        """``GET /health``, or None while the worker does not answer."""
        try:
            return self.health()
        except (OSError, ValueError):
            return None

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise WorkerExited(f"worker exited with {self.process.returncode}:\n{self.tail()}")

    def wait_ready(self, timeout: float = 90.0, every: float = 0.1) -> dict:
        """Until /health says ready (a report trigger would be accepted); that /health."""

        def ready() -> dict | None:
            self.check_alive()
            health = self.health()
            return health if health.get("ready") else None

        try:
            return wait_for(ready, timeout, "the worker to be ready", every)
        except WaitTimeout as exc:
            raise WaitTimeout(f"{exc}; /health: {self.try_health()}\n{self.tail()}") from None

    def wait_applied(self, total: int, timeout: float, every: float = 0.1) -> dict:
        """Until /health ``polls_applied`` >= total; that /health."""

        def applied() -> dict | None:
            self.check_alive()
            health = self.health()
            return health if (health.get("polls_applied") or 0) >= total else None

        return wait_for(applied, timeout, f"polls_applied >= {total}", every)

    def snapshot_csv(self, as_of: str | None = None, timeout: float = 120.0) -> str:
        query = f"?as_of={urllib.parse.quote(as_of)}" if as_of else ""
        return http.get_bytes(self.base_url, "/snapshot.csv" + query, timeout).decode()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the process group and wait for it (SIGKILL after ``grace`` seconds)."""
        if self.process is not None:
            stop_group(self.process, sig, self.grace)
        self.process = None

    def tail(self, n: int = 40) -> str:
        return log_tail(self.log_path, n)


def peer_worker(env: dict[str, str], directory: Path, name: str) -> WorkerProcess:
    """Another worker of the pipeline of ``env`` (same app id and topics) with its own web
    port, state dir ``directory/state-<name>`` and log ``directory/worker-<name>.log``; not
    started."""
    env = dict(env, STREAMPROC_WEB_PORT=str(free_port()),
               STREAMPROC_STATE_DIR=str(directory / f"state-{name}"))
    return WorkerProcess(env, directory / f"worker-{name}.log")


def assigned_partitions(handles: list[WorkerProcess]) -> list[int] | None:
    """Each worker's /health ``assigned_partitions`` once every one holds some and none is
    recovering; None before."""
    docs = [h.try_health() for h in handles]
    if any(d is None or d["recovering"] or not d["assigned_partitions"] for d in docs):
        return None
    return [d["assigned_partitions"] for d in docs]


def wait_split(handles: list[WorkerProcess], timeout: float = 90.0) -> list[int]:
    """Wait until the workers share the partitions (the rebalance has settled); their
    ``assigned_partitions``."""
    return wait_for(lambda: assigned_partitions(handles), timeout,
                    "partitions to split between the workers", every=0.5)
