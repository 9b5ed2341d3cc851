"""Shared pytest set-up: the fixtures of tests/support/*_fixture.py, and markers by folder.

A test's folder says what it needs, so no file marks itself:

* ``tests/unit/``: nothing (no broker, no worker process);
* ``tests/integration/``: ``integration`` (the real Kafka broker, worker processes);
* ``tests/reliability/``: ``integration`` and ``reliability`` (fault injection);
* ``tests/browser/``: ``integration`` and ``browser`` (headless Chromium on a real worker).

``pytest -m "not integration"`` runs the unit tests alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.support.broker_fixture", "tests.support.worker_fixture"]

TESTS = Path(__file__).resolve().parent
FOLDER_MARKERS = {
    "integration": ("integration",),
    "reliability": ("integration", "reliability"),
    "browser": ("integration", "browser"),
}


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        try:
            folder = item.path.resolve().relative_to(TESTS).parts[0]
        except ValueError:  # not under tests/
            continue
        for marker in FOLDER_MARKERS.get(folder, ()):
            item.add_marker(marker)
