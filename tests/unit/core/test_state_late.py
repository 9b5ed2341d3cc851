"""Late polls (issue 24): a batch of polls older than the newest kept one is merged in one of
three ways, by its size against the kept polls: a small one in place, taking out the gaps it
falls into and putting in the new ones (``StoreState._observe``); a bigger one by rebuilding
only what follows its earliest poll (``_rebuild_after``), the polls inserted one by one or
merged in bulk. Each must leave exactly the state a store built from all its polls at once
has: the same polls, observations, hour buckets and answers, for any split into batches, any
order, duplicates that turn a poll inactive, and evictions."""

from __future__ import annotations

from array import array
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamproc.core import state as state_module
from streamproc.core.records import US_PER_DAY, US_PER_HOUR, US_PER_MINUTE
from streamproc.core.state import HORIZON_US, StoreState
from tests.support.report_cases import reports, settings_


def _buckets(state: StoreState) -> dict[int, int]:
    """The non-empty hour buckets by UTC hour (the arrays' padding and base may differ)."""
    return {state._base + i: v for i, v in enumerate(state._up) if v}


def _whole(store_id: str, zone, rows, polls: list[tuple[int, bool]], since: int) -> StoreState:
    state = StoreState(store_id)
    state.set_timezone(zone)
    state.set_hours(rows)
    state.replace_polls(array("q", [ts for ts, _ in polls]),
                        bytearray(1 if up else 0 for _, up in polls), since_us=since)
    return state


def _same(late: StoreState, whole: StoreState, now: int) -> None:
    assert late.polls() == whole.polls()
    assert late.observations(0, 2**62) == whole.observations(0, 2**62)
    assert _buckets(late) == _buckets(whole)
    for at in (now, now - 37 * US_PER_MINUTE, now - US_PER_DAY, now - 5 * US_PER_DAY):
        assert late.values(at) == whole.values(at)
        hour = at // US_PER_HOUR
        assert late.hourly(hour - 24 * 9, hour + 1, at) == whole.hourly(hour - 24 * 9, hour + 1, at)


# (_REBUILD_FRACTION, _MERGE_FRACTION) that force each way
WAYS = {"in place": (0, 0), "rebuilt after, inserted": (10**9, 0),
        "rebuilt after, merged in bulk": (10**9, 10**9)}


@pytest.mark.parametrize("way", WAYS)
@settings(settings_, max_examples=200)
@given(case=reports(), data=st.data())
def test_late_batches_equal_the_store_built_at_once(way, case, data):
    polls, hours, zones, _ = case
    store_id = polls[0][0] if polls else "1"
    mine = [(ts, up) for s, ts, up in polls if s == store_id]
    rows = [(d, a, b) for s, d, a, b in hours if s == store_id] or None
    zone = dict(zones).get(store_id)
    # the same polls again, some now inactive: a downgrade of a kept poll, in place
    again = data.draw(st.lists(st.sampled_from(mine), max_size=8)) if mine else []
    arriving = mine + [(ts, False) for ts, _ in again]
    order = data.draw(st.permutations(range(len(arriving))))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(arriving)), max_size=12)))
    late = StoreState(store_id)
    late.set_timezone(zone)
    late.set_hours(rows)
    rebuild, merge = WAYS[way]
    with mock.patch.multiple(state_module, _REBUILD_FRACTION=rebuild, _MERGE_FRACTION=merge):
        start = 0
        for cut in [*cuts, len(arriving)]:
            late.add_polls([arriving[i] for i in order[start:cut]])
            start = cut
    now = max((ts for ts, _ in mine), default=0) + 7 * US_PER_DAY
    _same(late, _whole(store_id, zone, rows, arriving, 0), now)
    cutoff = now - HORIZON_US
    late.evict_before(cutoff)
    _same(late, _whole(store_id, zone, rows, arriving, cutoff), now)


def test_a_late_poll_after_the_last_and_one_before_the_first_are_both_observed():
    """Edges of the in-place path: a batch that reaches past both ends of the kept polls."""
    h = US_PER_HOUR
    kept = [(10 * h + k * h, k % 3 != 0) for k in range(40)]
    late = StoreState("s")
    late.add_polls(kept)
    batch = [(3 * h, False), (60 * h + 17, True), (25 * h + 5, False), (11 * h, False)]
    with mock.patch.multiple(state_module, _REBUILD_FRACTION=0, _MERGE_FRACTION=0):
        late.add_polls(batch)
    _same(late, _whole("s", None, None, kept + batch, 0), 61 * h)
