"""A watchdog for the worker's event loop: how long it was held, and by what.

Every answer the worker gives (``/health``, ``/stores/{id}``, a trigger) waits for the one
event loop; a step that holds it for a second makes every probe a second late, whatever the
load. A heartbeat task records each tick's lateness (``streamproc_loop_lag_seconds``); a
daemon thread, which runs while the loop is held, takes the stack of the code holding it
once the stall passes the threshold, and logs it (with the stall's full length) when the loop
is free again: the place to make cheaper, named instead of guessed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable

from streamproc import metrics
from streamproc.worker import faust_compat

log = logging.getLogger(__name__)

TICK_S = 0.1


class LoopWatch:
    """Heartbeat (:meth:`run`, an app task) plus the thread that catches long stalls."""

    def __init__(self, threshold_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold_s = threshold_s
        self.clock = clock
        self.beat = clock()
        self.loop_thread = threading.get_ident()
        self.held_by: list[str] | None = None  # the stack seen in the current stall
        self.stalls = 0
        self.running = False

    async def run(self) -> None:
        """Beat every :data:`TICK_S`; record how late each beat came, report a long stall."""
        self.loop_thread = threading.get_ident()
        self.beat = self.clock()
        self.running = True
        threading.Thread(target=self._watch, name="loop-watch", daemon=True).start()
        try:
            while True:
                await asyncio.sleep(TICK_S)
                now = self.clock()
                late = max(now - self.beat - TICK_S, 0.0)
                self.beat = now
                metrics.observe_loop_lag(late)
                self._report(late)
        finally:
            self.running = False

    def _report(self, late: float) -> None:
        held_by, self.held_by = self.held_by, None
        if late >= self.threshold_s:
            self.stalls += 1
            where = "".join(held_by) if held_by else "(not caught: shorter than a look)\n"
            log.warning("event loop held for %.2f s; it was in:\n%s", late, where)

    def _watch(self) -> None:
        """The daemon thread: look at the loop's stack once per stall past the threshold."""
        while self.running:
            time.sleep(TICK_S / 2)
            if self.held_by is None and self.clock() - self.beat > self.threshold_s + TICK_S:
                self.held_by = self.stack()

    def stack(self) -> list[str]:
        """The loop thread's current stack (innermost last), the frames that matter."""
        return faust_compat.stack_of(self.loop_thread)
