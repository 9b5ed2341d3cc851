"""The event-loop watchdog names the code that held the loop, and only for long stalls."""

from __future__ import annotations

import asyncio
import logging
import time

from streamproc import metrics
from streamproc.worker.loop_watch import LoopWatch


def hold_the_loop(seconds: float) -> None:
    time.sleep(seconds)  # a synchronous step, as a big batch or a report would be


async def _watched(watch: LoopWatch, work) -> None:
    task = asyncio.ensure_future(watch.run())
    await asyncio.sleep(0.25)
    await work()
    await asyncio.sleep(0.25)
    task.cancel()


def _lag_count() -> float:
    return metrics.REGISTRY.get_sample_value("streamproc_loop_lag_seconds_count") or 0.0


def test_a_long_stall_is_logged_with_the_stack_that_held_the_loop(caplog):
    watch = LoopWatch(threshold_s=0.2)
    before = _lag_count()

    async def stall() -> None:
        hold_the_loop(0.6)

    with caplog.at_level(logging.WARNING, logger="streamproc.worker.loop_watch"):
        asyncio.run(_watched(watch, stall))
    held = [r.getMessage() for r in caplog.records if "event loop held" in r.getMessage()]
    assert len(held) == 1, held
    assert "hold_the_loop" in held[0]
    assert float(held[0].split("held for ")[1].split(" s")[0]) >= 0.5
    assert watch.stalls == 1
    assert _lag_count() > before


def test_short_steps_are_counted_but_not_logged(caplog):
    watch = LoopWatch(threshold_s=0.5)

    async def busy() -> None:
        for _ in range(5):
            hold_the_loop(0.05)
            await asyncio.sleep(0.01)

    with caplog.at_level(logging.WARNING, logger="streamproc.worker.loop_watch"):
        asyncio.run(_watched(watch, busy))
    assert not [r for r in caplog.records if "event loop held" in r.getMessage()]
    assert watch.stalls == 0
