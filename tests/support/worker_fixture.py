"""A real `streamproc worker` process per test, isolated by its own topics, group and state.

``worker`` (function scope) starts a :class:`streamproc.sandbox.WorkerProcess` against the
shared ``kafka_broker`` with unique topic names, app id, state directory and web port
(``worker_env``), waits until it is ready, and stops it at the end. ``worker.env`` is the
environment to give any other command (``streamproc replay``, ``streamproc snapshot``) so it
talks to the same topics. :func:`isolated_worker` does the same in a ``with`` block, with extra
settings; :func:`started_peers` starts several workers of one pipeline (``peer_worker`` and
``wait_split`` come from :mod:`streamproc.sandbox`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from streamproc.sandbox import WorkerProcess, isolated_env, peer_worker, wait_split

__all__ = ["isolated_worker", "peer_worker", "started_peers", "wait_split", "worker",
           "worker_env"]


@contextmanager
def isolated_worker(bootstrap: str, tmp_path: Path, **extra: str) -> Iterator[WorkerProcess]:
    """A ready worker of its own pipeline (state in ``tmp_path/state``, log
    ``tmp_path/worker.log``, settings ``extra``), stopped after the block."""
    env = isolated_env(bootstrap, tmp_path / "state", **extra)
    with WorkerProcess(env, tmp_path / "worker.log").running() as handle:
        yield handle


@contextmanager
def started_peers(env: dict[str, str], tmp_path: Path,
                  names: str) -> Iterator[list[WorkerProcess]]:
    """One :func:`peer_worker` per letter of ``names``, started one after the other, killed
    (SIGKILL) after the block."""
    handles = [peer_worker(env, tmp_path, name) for name in names]
    try:
        for handle in handles:
            handle.start()
        yield handles
    finally:
        for handle in handles:
            handle.kill()


@pytest.fixture
def worker_env(kafka_broker: str, tmp_path: Path) -> dict[str, str]:
    return isolated_env(kafka_broker, tmp_path / "state")


@pytest.fixture
def worker(worker_env: dict[str, str], tmp_path: Path) -> Iterator[WorkerProcess]:
    with WorkerProcess(worker_env, tmp_path / "worker.log").running() as handle:
        yield handle
