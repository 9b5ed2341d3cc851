"""Fixtures of the reliability suite (marker ``reliability``, part of the normal run).

``say`` prints what a test tried and found; the lines show with ``-s`` (or ``-rA``) and are
repeated in a "reliability findings" section at the end of the pytest run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.data import batch_report, generate

_FINDINGS: list[tuple[str, str]] = []


@pytest.fixture
def say(request) -> Callable[..., None]:
    name = request.node.name

    def emit(*parts: object) -> None:
        line = " ".join(str(p) for p in parts)
        print(f"[{name}] {line}", flush=True)
        _FINDINGS.append((name, line))

    return emit


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not _FINDINGS:
        return
    terminalreporter.section("reliability findings")
    for name, line in _FINDINGS:
        terminalreporter.write_line(f"{name}: {line}")


@pytest.fixture(scope="session")
def dataset(tmp_path_factory) -> Path:
    """200 stores, 8 days (~32k polls): the standard data set of the suite."""
    return generate(tmp_path_factory.mktemp("rel-data"), 200, 8, 41, "--dst")


@pytest.fixture(scope="session")
def expected(dataset, tmp_path_factory) -> str:
    """The batch command's report on ``dataset``: what every worker report must equal."""
    return batch_report(dataset, tmp_path_factory.mktemp("rel-batch") / "batch.csv")

