"""Long synchronous work cut into slices of a few milliseconds, the event loop free between.

Every answer the worker gives waits for its one event loop. A batch of a burst (2,000
packed poll messages, or thousands of public events to decode) held the loop for up to a
second, found by ``worker/loop_watch.py``: a slice of a fixed number of messages does not
bound the time, since a message can hold one poll or thousands. :func:`time_slices` sizes
each slice from how long the last one took, so a slice costs about :data:`BUDGET_S`
whatever the messages hold.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

BUDGET_S = 0.02  # the loop is held at most about this long by one slice
FIRST = 32  # items in the first slice


def next_size(size: int, took_s: float, budget_s: float = BUDGET_S, most: int = 4096) -> int:
    """The next slice's size: cut to what fits the budget at once when the last one overran
    it, doubled when it took under half of it (growing in steps of two keeps one odd cheap
    slice from letting the next hold the loop long)."""
    if took_s > budget_s:
        return max(1, int(size * budget_s / took_s))
    if took_s < budget_s / 2:
        return min(most, size * 2)
    return size


async def time_slices(items: Sequence[T], budget_s: float = BUDGET_S,
                      clock: Callable[[], float] = time.perf_counter) -> AsyncIterator[Sequence[T]]:
    """``items`` in consecutive slices, each sized to take about ``budget_s`` in the caller's
    loop body, with ``asyncio.sleep(0)`` between two."""
    start, size = 0, FIRST
    while start < len(items):
        if start:
            await asyncio.sleep(0)
        began = clock()
        yield items[start:start + size]
        start += size
        size = next_size(size, clock() - began, budget_s)
