"""Bytes per store of the live ``StoreState`` (tracemalloc) and of its serialised row, for
hourly and minute polls: the per-store memory figures of docs/architecture.md ("State that
scales with history"), reproducible without a broker:

    python -m bench.state_memory

Why tracemalloc and not RSS: it counts the Python objects of the states alone, so the
figure is the part a new layout can shrink, apart from the worker's fixed RSS.
"""

from __future__ import annotations

import tracemalloc
from dataclasses import dataclass

from streamproc.core.records import US_PER_DAY, US_PER_HOUR, US_PER_MINUTE
from streamproc.core.state import StoreState

START = 1_674_000_000_000_000  # 2023-01-18 00:00 UTC
CASES = (("hourly polls, 7 days", 7, US_PER_HOUR, 2000),
         ("hourly polls, 9 days", 9, US_PER_HOUR, 2000),
         ("minute polls, 2 days", 2, US_PER_MINUTE, 100),
         ("minute polls, 9 days", 9, US_PER_MINUTE, 30))


@dataclass(frozen=True)
class StateBytes:
    label: str
    polls: int  # per store
    memory: float  # bytes per store in memory
    row: int  # bytes of the serialised row


def sample_state(i: int, days: int, every_us: int) -> StoreState:
    """A store open 9:00-21:00 local every day, polled every ``every_us``, one query made
    (so the derived caches exist, as in a worker that served a report)."""
    state = StoreState(f"{i:08d}-aaaa-bbbb-cccc-{i:012d}")
    state.set_timezone("America/Chicago")
    state.set_hours([(d, 9 * US_PER_HOUR, 21 * US_PER_HOUR) for d in range(7)])
    n = days * US_PER_DAY // every_us
    state.add_polls([(START + k * every_us + i, (k + i) % 11 != 0) for k in range(n)])
    state.values(START + days * US_PER_DAY)
    return state


def measure(label: str, days: int, every_us: int, stores: int) -> StateBytes:
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        states = [sample_state(i, days, every_us) for i in range(stores)]
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return StateBytes(label, states[0].poll_count, (after - before) / stores,
                      len(states[0].to_bytes()))


def main() -> None:
    for case in CASES:
        m = measure(*case)
        print(f"{m.label}: {m.polls:,} polls; {m.memory / 1024:.1f} KiB in memory per store; "
              f"row {m.row / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
