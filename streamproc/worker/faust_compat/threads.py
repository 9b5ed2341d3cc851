"""The stack another thread is running now (CPython's ``sys._current_frames``), for the
event-loop watchdog (``worker/loop_watch.py``), which looks at the loop from its own thread."""

from __future__ import annotations

import sys
import traceback
from typing import Any

# (object, attribute) pairs this module relies on; see tests/unit/worker/test_faust_compat.py.
PRIVATE_APIS: tuple[tuple[Any, str], ...] = ((sys, "_current_frames"),)
APP_ATTRIBUTES: tuple[tuple[str, str], ...] = ()


def stack_of(thread_id: int, innermost: int = 12) -> list[str]:
    """The thread's current stack as formatted lines, its ``innermost`` frames (none when
    the thread is gone)."""
    frame = sys._current_frames().get(thread_id)
    return traceback.format_stack(frame)[-innermost:] if frame is not None else []
