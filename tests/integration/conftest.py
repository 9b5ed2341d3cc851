"""Fixtures shared by the integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.data import generate


@pytest.fixture(scope="session")
def dataset(tmp_path_factory) -> Path:
    """150 stores, 8 days, with a DST change: the data set the event tests publish (a module
    that needs another defines its own ``dataset``)."""
    return generate(tmp_path_factory.mktemp("data"), 150, 8, 21, "--dst")
