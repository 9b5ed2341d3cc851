"""An isolated pipeline environment: its own topics, consumer group, state dir and web port."""

from __future__ import annotations

import os
import secrets
import socket
import uuid
from pathlib import Path


def unique_name(prefix: str = "test") -> str:
    """A topic / consumer group name no other run uses."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
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
        STREAMPROC_TOPIC_SPECIAL_HOURS=f"special-{tag}",
        STREAMPROC_TOPIC_EVENTS=f"events-{tag}",
        STREAMPROC_TOPIC_DEADLETTER=f"dlq-{tag}",
        STREAMPROC_TOPIC_OUTAGES=f"outages-{tag}",
        STREAMPROC_TOPIC_REPORTS=f"reports-{tag}",
        PYTHONUNBUFFERED="1",
    )
    # The workers of one pipeline share a peer secret (without one /internal/* is closed
    # and several workers cannot make a report): a fresh random one per pipeline.
    env.setdefault("STREAMPROC_PEER_SECRET", secrets.token_hex(16))
    # Likewise the key of session cookies, required as soon as a token is set.
    env.setdefault("STREAMPROC_SESSION_SECRET", secrets.token_hex(32))
    env.update(extra)
    return env


def bootstrap_of(env: dict[str, str]) -> str:
    """``host:port`` of the broker an environment points at (``STREAMPROC_BROKER``)."""
    return env["STREAMPROC_BROKER"].split("://", 1)[-1]
