"""Pytest fixtures for the real local Kafka broker (loaded from tests/conftest.py).

``kafka_broker`` (session scope) yields the bootstrap address ``host:port`` of the broker
managed by ``streamproc broker`` for the current settings (``STREAMPROC_*`` variables,
default ``127.0.0.1:9092`` with state in ``.streamproc``). A broker that is already running is
reused and left running; one started by the fixture is stopped when the session ends.

Tests share that broker, so they must use their own topic and group names:
``streamproc.sandbox.unique_name("polls")`` gives ``polls-<random>``. A test that stops and
starts a broker uses one of its own (:func:`private_broker_settings`, :class:`PrivateBroker`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from streamproc import config
from streamproc.kafka import broker
from streamproc.sandbox import bootstrap_of, free_port, run_cli

__all__ = ["PrivateBroker", "kafka_broker", "private_broker_settings"]


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
    shared_jars = broker.ensure_jars(config.load(), quiet=True)
    state.mkdir()
    (state / "jars").symlink_to(shared_jars, target_is_directory=True)
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
