"""A real `streamproc worker` process per test, isolated by its own topics, group and state.

``worker`` (function scope) starts a :class:`streamproc.sandbox.WorkerProcess` against the
shared ``kafka_broker`` with unique topic names, app id, state directory and web port
(``worker_env``), waits until it is ready, and stops it at the end. ``worker.env`` is the
environment to give any other command (``streamproc replay``, ``streamproc snapshot``) so it
talks to the same topics. :func:`isolated_worker` does the same in a ``with`` block, with extra
settings; :func:`peer_worker` is one more worker of the same pipeline.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from streamproc.sandbox import WorkerProcess, free_port, isolated_env

__all__ = ["isolated_worker", "peer_worker", "worker", "worker_env"]


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


@pytest.fixture
def worker_env(kafka_broker: str, tmp_path: Path) -> dict[str, str]:
    return isolated_env(kafka_broker, tmp_path / "state")


@pytest.fixture
def worker(worker_env: dict[str, str], tmp_path: Path) -> Iterator[WorkerProcess]:
    with WorkerProcess(worker_env, tmp_path / "worker.log").running() as handle:
        yield handle
