"""Fixtures shared by the integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.data import generate
from tests.support.worker_fixture import started_peers, wait_split

FAST = {"BROKER_SESSION_TIMEOUT": "8", "BROKER_HEARTBEAT_INTERVAL": "1"}


@pytest.fixture(scope="session")
def dataset(tmp_path_factory) -> Path:
    """150 stores, 8 days, with a DST change: the data set the event tests publish (a module
    that needs another defines its own ``dataset``)."""
    return generate(tmp_path_factory.mktemp("data"), 150, 8, 21, "--dst")


@pytest.fixture
def pair(worker_env, tmp_path):
    """Two workers of one pipeline (a short session timeout), each holding partitions."""
    with started_peers(dict(worker_env, **FAST), tmp_path, "ab") as handles:
        wait_split(handles)
        yield handles
