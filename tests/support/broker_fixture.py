"""Pytest fixtures for the real local Kafka broker (loaded from tests/conftest.py).

``kafka_broker`` (session scope) yields the bootstrap address ``host:port`` of the broker
managed by ``streamproc broker`` for the current settings (``STREAMPROC_*`` variables,
default ``127.0.0.1:9092`` with state in ``.streamproc``). A broker that is already running is
reused and left running; one started by the fixture is stopped when the session ends.

Tests share that broker, so they must use their own topic and group names:
``streamproc.sandbox.unique_name("polls")`` gives ``polls-<random>``. A test that stops and
starts a broker uses one of its own (:func:`private_broker_settings`, :class:`PrivateBroker`);
one that needs a cluster starts a private one of three nodes with :func:`private_cluster`.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from streamproc import config
from streamproc import localkafka as broker
from streamproc.config import Settings
from streamproc.sandbox import bootstrap_of, free_port, run_cli

__all__ = ["PrivateBroker", "PrivateCluster", "kafka_broker",
           "private_broker_settings", "private_cluster"]


@pytest.fixture(scope="session")
def kafka_broker() -> Iterator[str]:
    settings = config.load()
    started_here = not broker.is_running(settings)
    try:
        bootstrap = broker.start(settings)
    except broker.BrokerError as exc:
        pytest.fail(f"could not start the Kafka broker: {exc}", pytrace=False)
    try:
        yield bootstrap
    finally:
        if started_here:
            broker.stop(settings)


def private_broker_settings(state: Path) -> dict[str, str]:
    """``STREAMPROC_*`` settings of a broker of its own: state dir ``state`` (created, the
    shared broker's cached jars linked in) and free ports. Leaves the shared broker alone."""
    _link_shared_jars(state)
    return {"STREAMPROC_STATE_DIR": str(state),
            "STREAMPROC_BROKER": f"kafka://127.0.0.1:{free_port()}",
            "STREAMPROC_CONTROLLER_PORT": str(free_port())}


@dataclass
class PrivateBroker:
    """A broker of its own (state dir, ports): safe to stop and start in a test."""

    env: dict[str, str]

    @property
    def bootstrap(self) -> str:
        return bootstrap_of(self.env)

    def run(self, action: str, timeout: float = 120.0) -> float:
        """``streamproc broker <action>``; the seconds it took."""
        started = time.monotonic()
        run_cli(self.env, "broker", action, timeout=timeout)
        return time.monotonic() - started


def _link_shared_jars(state: Path) -> None:
    """Create ``state`` with the shared broker's cached jars linked in (no download)."""
    shared_jars = broker.ensure_jars(config.load(), quiet=True)
    state.mkdir()
    (state / "jars").symlink_to(shared_jars, target_is_directory=True)


@dataclass
class PrivateCluster:
    """A started cluster of its own (state dir, ports): safe to kill and restart nodes of.

    ``env`` is the environment of its clients and of ``streamproc broker`` commands on it
    (``STREAMPROC_STATE_DIR``, ``STREAMPROC_BROKER`` listing every node,
    ``STREAMPROC_CONTROLLER_PORT``, ``STREAMPROC_REPLICATION``); ``settings`` the same as
    :class:`Settings`; ``start_output`` and ``start_seconds`` what ``broker start`` printed
    and how long it took."""

    env: dict[str, str]
    settings: Settings
    start_output: str
    start_seconds: float

    @property
    def bootstrap(self) -> str:
        """``host:port`` of every node, comma-separated."""
        return self.settings.bootstrap

    @property
    def nodes(self) -> list[broker.Node]:
        nodes = broker.recorded_cluster(self.settings)
        assert nodes is not None, "no cluster recorded in the state dir"
        return nodes

    def cli(self, *args: str, timeout: float = 180.0) -> str:
        """``streamproc broker <args>`` on this cluster; its stdout (raises on failure)."""
        return run_cli(self.env, "broker", *args, timeout=timeout).stdout

    def kill_node(self, node_id: int) -> int:
        """SIGKILL one node (a crash); its pid."""
        pid = broker.node_pid(self.settings, node_id)
        assert pid is not None, f"node {node_id} is not running"
        os.kill(pid, signal.SIGKILL)
        return pid


@contextmanager
def private_cluster(directory: Path, brokers: int = 3) -> Iterator[PrivateCluster]:
    """A ``brokers``-node cluster started with ``streamproc broker start --brokers N`` in the
    state dir ``directory/cluster`` (created, the shared jars linked in) on free ports;
    stopped (every node) after the block. Leaves the shared broker alone."""
    state = directory / "cluster"
    _link_shared_jars(state)
    port = broker.free_cluster_port(brokers)
    env = dict(os.environ, STREAMPROC_STATE_DIR=str(state),
               STREAMPROC_BROKER=f"kafka://127.0.0.1:{port}",
               STREAMPROC_CONTROLLER_PORT=str(port + 1))
    settings = Settings(broker_url=env["STREAMPROC_BROKER"], controller_port=port + 1,
                        state_dir=state)
    try:
        started = time.monotonic()
        out = run_cli(env, "broker", "start", "--brokers", str(brokers), timeout=180).stdout
        start_s = time.monotonic() - started
        nodes = broker.recorded_cluster(settings) or []
        bootstrap = ",".join(n.bootstrap for n in nodes)
        replication, _ = broker.replication_of(brokers)
        env.update(STREAMPROC_BROKER=f"kafka://{bootstrap}",
                   STREAMPROC_REPLICATION=str(replication))
        clients = Settings(broker_url=env["STREAMPROC_BROKER"], controller_port=port + 1,
                           state_dir=state, replication=replication)
        yield PrivateCluster(env, clients, out, start_s)
    finally:
        broker.stop(settings, timeout=30)
