"""An isolated pipeline environment: its own topics, consumer group, state dir and web port.

Tests, benchmarks and demos run workers side by side on one broker through this.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import uuid
from pathlib import Path


def unique_name(prefix: str = "test") -> str:
    """A topic / consumer group name no other run uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def isolated_env(
    bootstrap: str, state_dir: Path, tag: str | None = None, **extra: str
) -> dict[str, str]:
    """The current environment plus STREAMPROC_* settings that isolate one pipeline."""
    tag = tag or unique_name("t")
    env = dict(os.environ)
    env.update(
        STREAMPROC_BROKER=f"kafka://{bootstrap}",
        STREAMPROC_APP_ID=f"app-{tag}",
        STREAMPROC_STATE_DIR=str(state_dir),
        STREAMPROC_WEB_PORT=str(free_port()),
        STREAMPROC_TOPIC_POLLS=f"polls-{tag}",
        STREAMPROC_TOPIC_HOURS=f"hours-{tag}",
        STREAMPROC_TOPIC_TIMEZONES=f"tz-{tag}",
        STREAMPROC_TOPIC_DEADLETTER=f"dlq-{tag}",
        STREAMPROC_TOPIC_OUTAGES=f"outages-{tag}",
        STREAMPROC_TOPIC_REPORTS=f"reports-{tag}",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def stop_group(process: subprocess.Popen, sig: int = signal.SIGKILL, grace: float = 20.0) -> None:
    """Signal a worker started with ``start_new_session=True`` (its whole process group) and
    wait; SIGKILL it if it is still there after ``grace`` seconds."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=grace)


def log_tail(path: Path, lines: int) -> str:
    """The last lines of a worker's log, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
