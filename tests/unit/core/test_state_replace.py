"""StoreState.replace_polls (issue 24): the batch report builds each store from all its polls
at once, in one sweep of status runs against business intervals, instead of observing poll by
poll (``add_polls`` on a fresh state, ~10x the cost). The state must be the same: the same
kept polls and bytes, and the same answer to every question."""

from __future__ import annotations

from array import array

from hypothesis import given, settings
from hypothesis import strategies as st

from streamproc.core.evidence import evidence
from streamproc.core.records import US_PER_DAY, US_PER_HOUR, US_PER_MINUTE
from streamproc.core.state import HORIZON_US, StoreState
from tests.support.report_cases import reports, settings_


@settings(settings_, max_examples=200)
@given(reports(), st.integers(-3 * US_PER_DAY, 0))
def test_replace_polls_is_add_polls_on_a_fresh_store(case, since_shift):
    """The one-sweep state answers every question like the poll-by-poll one."""
    polls, hours, zones, _ = case
    store_id = polls[0][0] if polls else "1"
    mine = [(ts, up) for s, ts, up in polls if s == store_id]
    rows = [(d, a, b) for s, d, a, b in hours if s == store_id] or None
    zone = dict(zones).get(store_id)
    now = max((ts for ts, _ in mine), default=0) + since_shift + 7 * US_PER_DAY
    since = now - HORIZON_US
    slow, fast = StoreState(store_id), StoreState(store_id)
    for state in (slow, fast):
        state.set_timezone(zone)
        state.set_hours(rows)
    slow.add_polls([p for p in mine if p[0] >= since])
    fast.replace_polls(array("q", [ts for ts, _ in mine]),
                       bytearray(1 if up else 0 for _, up in mine), since_us=since)
    assert fast.polls() == slow.polls()
    assert fast.to_bytes() == slow.to_bytes()
    assert fast.observations(0, 2**62) == slow.observations(0, 2**62)
    for at in (now, now - 37 * US_PER_MINUTE, now - US_PER_DAY, now - 5 * US_PER_DAY):
        assert fast.values(at) == slow.values(at)
        assert evidence(fast, at) == evidence(slow, at)
        hour = at // US_PER_HOUR
        assert fast.hourly(hour - 24 * 9, hour + 1, at) == slow.hourly(hour - 24 * 9, hour + 1, at)


def test_replace_polls_keeps_the_rules_of_add_polls():
    """Any order; on equal timestamps inactive wins, whichever comes first; ``since_us``
    leaves out older polls; and what was kept before is replaced, not merged."""
    state = StoreState("s")
    state.add_polls([(1, True), (99, False)])
    state.replace_polls(array("q", [30, 10, 20, 10, 20, 5]), bytearray([1, 1, 0, 0, 1, 1]),
                        since_us=10)
    assert state.polls() == [(10, False), (20, False), (30, True)]
    state.replace_polls(array("q"), bytearray())
    assert state.polls() == [] and state.values(100) == (0,) * 6
