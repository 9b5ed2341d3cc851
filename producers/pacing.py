"""Replay at X times real time: which polls are due when (pure, clock injected).

With speed X, the poll at event time ``t`` is due ``(t - origin) / X`` wall seconds after the
replay started, ``origin`` being the earliest event time. The driver wakes every `tick`
seconds (or later, when the next poll is further away), sends everything due as one slice
and sleeps again.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter

from streamproc.core.records import US_PER_SECOND, Poll

_TS = itemgetter(1)
MAX_IDLE_WAKE = 1.0  # seconds: wake at least this often (to refresh the progress line)


@dataclass(frozen=True)
class SpeedSchedule:
    origin_us: int  # event time of the first poll
    speed: float  # event seconds per wall second

    def __post_init__(self) -> None:
        if not (self.speed > 0 and math.isfinite(self.speed)):
            raise ValueError(f"speed must be a positive number, not {self.speed}")

    def cutoff(self, elapsed_s: float) -> int:
        """The latest event time due after `elapsed_s` wall seconds (to the nearest us, so a
        wake-up at `due_at(t)` reaches t despite float rounding)."""
        return self.origin_us + round(elapsed_s * self.speed * US_PER_SECOND)

    def due_at(self, ts_us: int) -> float:
        """Wall seconds after the start when event time `ts_us` is due."""
        return (ts_us - self.origin_us) / (self.speed * US_PER_SECOND)


def due_end(polls: Sequence[Poll], start: int, cutoff_us: int) -> int:
    """Index after the last poll (sorted by time) at or before `cutoff_us`, from `start`."""
    return bisect_right(polls, cutoff_us, lo=start, key=_TS)


def next_wake(schedule: SpeedSchedule, elapsed_s: float, next_ts: int, tick: float) -> float:
    """When to wake next: one tick from now, or when the next poll is due if that is later
    (but at least every MAX_IDLE_WAKE seconds)."""
    soon = elapsed_s + tick
    return max(soon, min(schedule.due_at(next_ts), elapsed_s + max(MAX_IDLE_WAKE, tick)))


async def run_paced(
    polls: Sequence[Poll],
    speed: float,
    send_slice: Callable[[Sequence[Poll], int], Awaitable[None]],
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[object]],
    tick: float = 0.05,
    stopped: Callable[[], bool] = lambda: False,
    on_idle: Callable[[int], None] | None = None,
) -> int:
    """Send `polls` (sorted by time) in slices as their event time comes, at `speed`.

    `send_slice(slice, cutoff_us)` gets each non-empty slice; `on_idle(cutoff_us)` is called
    on every wake-up (for a progress line). Returns the number of polls sent.
    """
    if not polls:
        return 0
    schedule = SpeedSchedule(polls[0][1], speed)
    start = clock()
    i, n = 0, len(polls)
    while i < n and not stopped():
        elapsed = clock() - start
        cutoff = schedule.cutoff(elapsed)
        end = due_end(polls, i, cutoff)
        if end > i:
            await send_slice(polls[i:end], cutoff)
            i = end
        if on_idle is not None:
            on_idle(cutoff)
        if i >= n:
            break
        wake = next_wake(schedule, elapsed, polls[i][1], tick)
        delay = wake - (clock() - start)
        if delay > 0:
            await sleep(delay)
    return i
