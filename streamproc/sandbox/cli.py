"""Run `streamproc` subcommands as child processes (``python -m streamproc ...``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


class CliFailed(AssertionError):
    """A `streamproc` command exited with an error (an AssertionError for pytest)."""


def command(*args: str) -> list[str]:
    """The argv of ``streamproc <args>`` with this interpreter."""
    return [sys.executable, "-m", "streamproc", *args]


def run_cli_unchecked(env: dict[str, str], *args: str,
                      timeout: float = 300.0) -> subprocess.CompletedProcess:
    """A `streamproc` command that may fail (the caller looks at ``returncode``)."""
    return subprocess.run(command(*args), env=env, capture_output=True, text=True,
                          timeout=timeout)


def run_cli(env: dict[str, str], *args: str,
            timeout: float = 300.0) -> subprocess.CompletedProcess:
    """Run a `streamproc` subcommand with ``env``; raise :class:`CliFailed` with its output
    when it exits with an error."""
    proc = run_cli_unchecked(env, *args, timeout=timeout)
    if proc.returncode != 0:
        raise CliFailed(
            f"streamproc {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def spawn(env: dict[str, str], args: list[str], log_path: Path) -> subprocess.Popen:
    """Start ``streamproc <args>`` in its own process group (stop it with
    :func:`streamproc.sandbox.process.stop_group`), stdout and stderr appended to
    ``log_path`` (its folder created if needed)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(command(*args), env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
