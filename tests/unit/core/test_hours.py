"""Schedules (``core/hours.py``) as the state keeps them."""

from __future__ import annotations

from streamproc.core.records import US_PER_HOUR
from streamproc.core.state import StoreState


def test_stores_with_the_same_schedule_share_one_object() -> None:
    """Memory at 10x (issue 24): a schedule is kept once, however many stores have it, also
    when read back from a stored state."""
    rows = [(d, 10 * US_PER_HOUR, 22 * US_PER_HOUR) for d in range(7)]
    a, b = StoreState("a"), StoreState("b")
    a.set_hours(rows)
    b.set_hours([list(r) for r in reversed(rows)])  # another order, lists: the same schedule
    restored = StoreState.from_bytes("c", a.to_bytes())
    assert a.hours == tuple(rows)
    assert b.hours is a.hours and restored.hours is a.hours
    other = StoreState("d")
    other.set_hours(rows[:6])
    assert other.hours is not a.hours and len(other.hours) == 6
