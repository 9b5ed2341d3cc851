"""Slices sized by time: every item once, in order, and a slice costs about the budget."""

from __future__ import annotations

import asyncio

from hypothesis import given
from hypothesis import strategies as st

from streamproc.worker.slices import FIRST, next_size, time_slices


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _run(items, cost_of, budget=0.02):
    """Slices of ``items`` where handling item i advances the clock by ``cost_of(i)``."""
    clock, slices = FakeClock(), []

    async def go() -> None:
        async for part in time_slices(items, budget, clock):
            slices.append(list(part))
            clock.now += sum(cost_of(i) for i in part)

    asyncio.run(go())
    return slices


@given(st.lists(st.integers(), max_size=3000), st.floats(1e-6, 0.05))
def test_every_item_once_in_order(items, cost):
    slices = _run(items, lambda i: cost)
    assert [i for part in slices for i in part] == items


def test_cheap_items_grow_the_slice_and_expensive_ones_shrink_it():
    cheap = _run(list(range(10_000)), lambda i: 1e-6)
    assert len(cheap[0]) == FIRST and max(map(len, cheap)) > 1000
    dear = _run(list(range(200)), lambda i: 0.01)  # 10 ms an item, 20 ms budget
    assert all(len(p) <= 2 for p in dear[1:])  # cut to the budget at once


def test_a_slice_that_overran_is_cut_to_the_budget():
    assert next_size(64, 0.04) == 32
    assert next_size(64, 0.64) == 2
    assert next_size(64, 0.001) == 128
    assert next_size(64, 0.015) == 64
    assert next_size(1, 1.0) == 1


def test_the_event_loop_runs_between_slices():
    ran: list[int] = []

    async def go() -> None:
        other = asyncio.get_running_loop().call_soon(ran.append, 1)
        async for _ in time_slices(list(range(100)), budget_s=0.0):
            pass
        other.cancel()

    asyncio.run(go())
    assert ran == [1]
