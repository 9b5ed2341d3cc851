"""``row_saves.save_writes``'s shortcut for the common save (new polls appended to the tail's
bytes, nothing decoded) writes exactly the rows of its general path, save after save."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from streamproc.core import row_saves
from streamproc.core.records import US_PER_HOUR
from streamproc.core.state import StoreState

T0 = 1_678_000_000_000_000

# a batch: (hours after the previous batch's start, its polls as (hour offsets, status)),
# and whether the state evicts before the save (as the worker's Processor may)
batch_st = st.tuples(
    st.integers(-30, 60),
    st.lists(st.tuples(st.integers(0, 40), st.booleans()), min_size=0, max_size=20),
    st.booleans(),
)


def _general(state, known, pending):
    """save_writes with the shortcut turned off."""
    shortcut = row_saves._appended_tail
    row_saves._appended_tail = lambda *_: None
    try:
        return row_saves.save_writes(state, known, pending)
    finally:
        row_saves._appended_tail = shortcut


@settings(max_examples=300, deadline=None)
@given(st.lists(batch_st, min_size=1, max_size=25))
def test_the_shortcut_writes_what_the_general_path_writes(batches) -> None:
    state = StoreState("s1")
    known, _ = row_saves.full_writes(state, None)
    start = T0
    for shift, offsets, evict in batches:
        start += shift * US_PER_HOUR
        pending = [(start + h * US_PER_HOUR + 7, up) for h, up in offsets]
        state.add_polls(pending)
        if evict and state.poll_count > 3:
            state.evict_before(state.polls()[2][0])
        expected = _general(state, known, pending)
        got = row_saves.save_writes(state, known, pending)
        assert got == expected
        known = got[0]


def test_a_live_store_takes_the_shortcut() -> None:
    """One poll a save, in time order: every save but the sealing one is an append."""
    state = StoreState("s1")
    known, _ = row_saves.full_writes(state, None)
    taken = 0
    for h in range(row_saves.TAIL_LIMIT + 5):
        pending = [(T0 + h * US_PER_HOUR, True)]
        state.add_polls(pending)
        taken += row_saves._appended_tail(state, known, pending) is not None
        known, writes = row_saves.save_writes(state, known, pending)
        assert writes
    assert taken == row_saves.TAIL_LIMIT + 5 - 1
