"""Generated data sets, their replay into a worker and the batch command's report on them."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from streamproc.sandbox import run_cli

SOURCES = ("store_status.csv", "menu_hours.csv", "timezones.csv")


def generate(out: Path, stores: int = 200, days: int = 8, seed: int = 1, *extra: str) -> Path:
    """``streamproc generate`` into ``out``; ``out``."""
    run_cli(dict(os.environ), "generate", "--stores", str(stores), "--days", str(days),
            "--seed", str(seed), "--out", str(out), *extra)
    return out


def source_args(data: Path, polls: Path | None = None) -> list[str]:
    """``--polls --hours --timezones`` of a data set (another polls file if given)."""
    return ["--polls", str(polls or data / SOURCES[0]), "--hours", str(data / SOURCES[1]),
            "--timezones", str(data / SOURCES[2])]


def replay_args(data: Path, polls: Path | None = None, *extra: str) -> list[str]:
    return ["replay", *source_args(data, polls), *extra]


def replay(env: dict[str, str], data: Path, *extra: str) -> subprocess.CompletedProcess:
    """``streamproc replay`` of the whole data set into the pipeline of ``env``."""
    return run_cli(env, *replay_args(data, None, *extra))


def batch_report(data: Path, out: Path, *extra: str) -> str:
    """The batch command's report (``streamproc report``) on the data set, written to
    ``out``; its text."""
    run_cli(dict(os.environ), "report", *source_args(data), "--out", str(out), *extra)
    return out.read_text()
