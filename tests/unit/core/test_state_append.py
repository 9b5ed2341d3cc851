"""StoreState.add_polls's append path (issue 24): polls all newer than every kept one extend
the state instead of re-merging it; the answers must be those of the state rebuilt from the
same polls (``from_bytes``, the bulk path that observes everything again)."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamproc.core.records import US_PER_DAY, US_PER_HOUR, US_PER_MINUTE
from streamproc.core.state import StoreState

T0 = 1_678_000_000_000_000  # 2023-03-05, a week before the US DST change
ZONES = [None, "UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe"]

hours_st = st.one_of(
    st.none(),
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 23), st.integers(1, 24)),
             min_size=1, max_size=6).map(
        lambda rows: [(d, a * US_PER_HOUR, max(a + 1, b) * US_PER_HOUR) for d, a, b in rows]),
)
# a batch: (minutes after the previous batch's start, gaps between its polls in minutes,
# statuses); a negative shift makes late polls, equal gaps make duplicates
batch_st = st.tuples(
    st.integers(-600, 3000),
    st.lists(st.tuples(st.integers(0, 400), st.booleans()), min_size=1, max_size=30),
)


def _same(a: StoreState, b: StoreState, now: int) -> None:
    assert a.polls() == b.polls()
    assert a.observations(0, now) == b.observations(0, now)
    for at in (now, now - 37 * US_PER_MINUTE, now - US_PER_DAY):
        assert a.values(at) == b.values(at)
        assert a.latest_observation(at) == b.latest_observation(at)
        assert a.status_since(at) == b.status_since(at)
    hour = now // US_PER_HOUR
    assert a.hourly(hour - 24 * 9, hour + 1, now) == b.hourly(hour - 24 * 9, hour + 1, now)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(ZONES), hours_st, st.lists(batch_st, min_size=1, max_size=12),
       st.booleans())
def test_batches_answer_like_the_state_rebuilt_from_their_polls(zone, hours, batches,
                                                                evict) -> None:
    state = StoreState("s1")
    state.set_timezone(zone)
    state.set_hours(hours)
    start, sent = T0, {}
    for shift, gaps in batches:
        start += shift * US_PER_MINUTE
        ts, polls = start, []
        for gap, up in gaps:
            ts += gap * US_PER_MINUTE
            polls.append((ts, up))
        state.add_polls(polls)
        for t, up in polls:  # the rule, independently: inactive wins on equal timestamps
            sent[t] = sent.get(t, True) and up
        now = max(p[0] for p in state.polls()) + 5 * US_PER_MINUTE
        if evict and state.poll_count > 3:
            cutoff = state.polls()[2][0]
            state.evict_before(cutoff)
            sent = {t: up for t, up in sent.items() if t >= cutoff}
        assert state.polls() == sorted(sent.items())
        _same(state, StoreState.from_bytes("s1", state.to_bytes()), now)


def test_a_newer_batch_is_appended_not_rebuilt() -> None:
    """The batch is bigger than a quarter of the kept polls (the bulk path's threshold) but
    newer than all of them: the aggregates of the older polls are not recomputed."""
    state = StoreState("s1")
    state.add_polls([(T0 + h * US_PER_HOUR, True) for h in range(8)])
    built = state._up  # the bucket array of the first batch
    state.add_polls([(T0 + (8 + h) * US_PER_HOUR, h % 2 == 0) for h in range(8)])
    assert state._up is built  # extended in place, not rebuilt
    _same(state, StoreState.from_bytes("s1", state.to_bytes()), T0 + 16 * US_PER_HOUR)
