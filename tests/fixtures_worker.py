"""A real `streamproc worker` process per test, isolated by its own topics, group and state.

``worker`` (function scope) starts a worker against the shared ``kafka_broker`` with unique
topic names, app id, state directory and web port, waits until it is ready, and kills it
at the end. ``WorkerHandle.env`` is the environment to give any other command
(``streamproc replay``, ``streamproc snapshot``) so it talks to the same topics.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from streamproc.sandbox import free_port, isolated_env, log_tail, stop_group

__all__ = ["WorkerHandle", "free_port", "isolated_env", "run_cli"]


@dataclass
class WorkerHandle:
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None
    history: list[Path] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.env['STREAMPROC_WEB_PORT']}"

    def start(self, timeout: float = 90.0) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "streamproc", "worker"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.wait_ready(timeout)

    def get_json(self, path: str, timeout: float = 10.0) -> dict:
        with urllib.request.urlopen(self.base_url + path, timeout=timeout) as resp:
            return json.loads(resp.read())

    def wait_ready(self, timeout: float = 90.0) -> dict:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                code = self.process.returncode
                raise AssertionError(f"worker exited with {code}:\n{self.tail()}")
            try:
                health = self.get_json("/health", timeout=2)
                if health.get("assigned_partitions") and not health.get("recovering"):
                    return health
                last = health
            except OSError as exc:
                last = exc
            time.sleep(0.3)
        raise AssertionError(f"worker not ready after {timeout}s ({last}):\n{self.tail()}")

    def snapshot_csv(self, as_of: str | None = None, timeout: float = 120.0) -> str:
        query = f"?as_of={urllib.parse.quote(as_of)}" if as_of else ""
        with urllib.request.urlopen(self.base_url + "/snapshot.csv" + query, timeout=timeout) as r:
            return r.read().decode()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None:
            stop_group(self.process, sig)
        self.process = None

    def tail(self, n: int = 40) -> str:
        return log_tail(self.log_path, n)


def run_cli(env: dict[str, str], *args: str, timeout: float = 300.0) -> subprocess.CompletedProcess:
    """Run a `streamproc` subcommand with ``env``; fail the test with its output on error."""
    proc = subprocess.run(
        [sys.executable, "-m", "streamproc", *args],
        env=env, capture_output=True, text=True, timeout=timeout,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"streamproc {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


@pytest.fixture
def worker_env(kafka_broker: str, tmp_path: Path) -> dict[str, str]:
    return isolated_env(kafka_broker, tmp_path / "state")


@pytest.fixture
def worker(worker_env: dict[str, str], tmp_path: Path) -> Iterator[WorkerHandle]:
    handle = WorkerHandle(worker_env, tmp_path / "worker.log")
    handle.start()
    try:
        yield handle
    finally:
        handle.kill(signal.SIGTERM)
