"""One wait loop: poll a predicate until it gives something truthy or the time is up."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# What a predicate may raise while the thing it looks at is not up yet (a refused connection,
# a half-written answer, a field still missing): retried, and shown if the time runs out.
RETRIED = (OSError, ValueError, KeyError)


class WaitTimeout(AssertionError):
    """``wait_for`` ran out of time (an AssertionError, so pytest reports it as a failure)."""


def wait_for(predicate: Callable[[], T], timeout: float, what: str, every: float = 0.3) -> T:
    """The first truthy value of ``predicate()``, called every ``every`` seconds for up to
    ``timeout`` seconds; OSError, ValueError and KeyError count as "not yet". Raises
    :class:`WaitTimeout` naming ``what`` and the last value or error."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except RETRIED as exc:
            last = exc
        time.sleep(every)
    raise WaitTimeout(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")
