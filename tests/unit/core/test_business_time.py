"""``StoreState.business_time`` answers in two bisects from the business time before each
interval (``hours.shared_bounds``); it must equal the sum of the business pieces it spans,
for any hours, zone (DST included) and range, also across the edges of covered days."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from streamproc.core.records import US_PER_DAY
from streamproc.core.state import StoreState
from tests.support.report_cases import BASES, SPAN, ZONES, hours_rows, settings_


@settings(settings_, max_examples=300)
@given(st.one_of(st.none(), hours_rows()), st.sampled_from(ZONES), st.sampled_from(BASES),
       st.lists(st.integers(-US_PER_DAY, SPAN + US_PER_DAY), min_size=2, max_size=6))
def test_business_time_is_the_sum_of_the_pieces(rows, zone, base, points):
    state = StoreState("s")
    state.set_timezone(zone)
    state.set_hours(rows)
    points = sorted(base + p for p in points)
    for x, y in itertools.pairwise(points):
        pieces = state.business_pieces(x, y)
        assert state.business_time(x, y) == sum(e - s for s, e in pieces)
    assert state.business_time(points[-1], points[0]) == 0
