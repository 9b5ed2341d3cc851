"""A real `streamproc worker` process per test, isolated by its own topics, group and state.

``worker`` (function scope) starts a :class:`streamproc.sandbox.WorkerProcess` against the
shared ``kafka_broker`` with unique topic names, app id, state directory and web port
(``worker_env``), waits until it is ready, and stops it at the end. ``worker.env`` is the
environment to give any other command (``streamproc replay``, ``streamproc snapshot``) so it
talks to the same topics. :func:`isolated_worker` does the same in a ``with`` block, with extra
settings; :func:`peer_worker` is one more worker of the same pipeline, :func:`started_peers`
several, and :func:`wait_split` waits until they share the partitions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from streamproc.sandbox import WorkerProcess, free_port, isolated_env, wait_for

__all__ = ["isolated_worker", "peer_worker", "started_peers", "wait_split", "worker",
           "worker_env"]


@contextmanager
def isolated_worker(bootstrap: str, tmp_path: Path, **extra: str) -> Iterator[WorkerProcess]:
    """A ready worker of its own pipeline (state in ``tmp_path/state``, log
    ``tmp_path/worker.log``, settings ``extra``), stopped after the block."""
    env = isolated_env(bootstrap, tmp_path / "state", **extra)
    with WorkerProcess(env, tmp_path / "worker.log").running() as handle:
        yield handle


def peer_worker(env: dict[str, str], tmp_path: Path, name: str) -> WorkerProcess:
    """Another worker of the pipeline of ``env`` (same app id and topics) with its own web
    port, state dir ``tmp_path/state-<name>`` and log ``tmp_path/worker-<name>.log``; not
    started."""
    env = dict(env, STREAMPROC_WEB_PORT=str(free_port()),
               STREAMPROC_STATE_DIR=str(tmp_path / f"state-{name}"))
    return WorkerProcess(env, tmp_path / f"worker-{name}.log")


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


@pytest.fixture
def worker_env(kafka_broker: str, tmp_path: Path) -> dict[str, str]:
    return isolated_env(kafka_broker, tmp_path / "state")


@pytest.fixture
def worker(worker_env: dict[str, str], tmp_path: Path) -> Iterator[WorkerProcess]:
    with WorkerProcess(worker_env, tmp_path / "worker.log").running() as handle:
        yield handle
