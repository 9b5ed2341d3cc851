"""Pytest fixtures for the real local Kafka broker (loaded from tests/conftest.py).

``kafka_broker`` (session scope) yields the bootstrap address ``host:port`` of the broker
managed by ``streamproc broker`` for the current settings (``STREAMPROC_*`` variables,
default ``127.0.0.1:9092`` with state in ``.streamproc``). A broker that is already running is
reused and left running; one started by the fixture is stopped when the session ends.

Tests share that broker, so they must use their own topic and group names:
``unique_name("polls")`` gives ``polls-<random>``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from streamproc import config
from streamproc.kafka import broker
from streamproc.sandbox import unique_name

__all__ = ["kafka_broker", "unique_name"]


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
