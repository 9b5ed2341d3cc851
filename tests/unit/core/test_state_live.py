"""StoreState's read helpers for live monitoring: hourly buckets, status runs, business time."""

from __future__ import annotations

import random

import pytest

from streamproc.core.records import US_PER_DAY, US_PER_HOUR, US_PER_MINUTE
from streamproc.core.state import StoreState

T0 = 1_700_000_000 * 1_000_000 // US_PER_HOUR * US_PER_HOUR  # an hour boundary


def _state(seed: int, hours: bool) -> tuple[StoreState, int]:
    rng = random.Random(seed)
    state = StoreState("s1")
    if hours:
        state.set_timezone("America/New_York")
        state.set_hours([(d, 9 * US_PER_HOUR, 17 * US_PER_HOUR + 30 * US_PER_MINUTE)
                         for d in range(6)])
    start = T0 + rng.randrange(0, 3 * US_PER_DAY)
    polls = []
    ts = start
    while ts < T0 + 10 * US_PER_DAY:
        polls.append((ts, rng.random() < 0.8))
        ts += rng.randrange(5 * US_PER_MINUTE, 3 * US_PER_HOUR)
    state.add_polls(polls[: len(polls) // 2])
    state.add_polls(polls[len(polls) // 2 :])  # patched, not only rebuilt
    now = polls[-1][0] + rng.randrange(0, 4 * US_PER_HOUR)
    return state, now


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("hours", [False, True])
def test_hourly_sums_to_the_report_windows(seed, hours):
    state, last = _state(seed, hours)
    for now in (last, last // US_PER_HOUR * US_PER_HOUR):  # ragged and whole-hour ``now``
        values = state.values(now)
        end_hour = -(-now // US_PER_HOUR)
        for window, (i_up, i_down) in ((US_PER_HOUR, (0, 3)), (US_PER_DAY, (1, 4)),
                                       (7 * US_PER_DAY, (2, 5))):
            start = now - window
            if start % US_PER_HOUR:
                continue  # only whole-hour windows add up from whole hours
            ups, downs = state.hourly(start // US_PER_HOUR, end_hour, now)
            assert sum(ups) == values[i_up]
            assert sum(downs) == values[i_down]
            assert len(ups) == len(downs) == end_hour - start // US_PER_HOUR


@pytest.mark.parametrize("seed", range(12))
def test_hourly_counts_every_open_hour_fully(seed):
    state, now = _state(seed, False)  # 24x7
    now = now // US_PER_HOUR * US_PER_HOUR
    end_hour = now // US_PER_HOUR
    ups, downs = state.hourly(end_hour - 7 * 24, end_hour, now)
    assert all(u + d == US_PER_HOUR for u, d in zip(ups, downs, strict=True))


def test_hourly_matches_brute_force_per_hour():
    state, now = _state(3, True)
    end_hour = -(-now // US_PER_HOUR)
    start_hour = end_hour - 48
    ups, downs = state.hourly(start_hour, end_hour, now)
    for k, h in enumerate(range(start_hour, end_hour)):
        a, b = h * US_PER_HOUR, min((h + 1) * US_PER_HOUR, now)
        up = down = 0
        step = US_PER_MINUTE  # sample minutes: nearest observation, ties to the earlier
        obs = [(ts, s) for ts, s in state.polls() if state.is_open(ts)
               and ts >= now - 8 * US_PER_DAY and ts <= now]
        for t in range(a, b, step):
            if not state.is_open(t):
                continue
            best = min(obs, key=lambda o, t=t: (abs(o[0] - t), o[0]))
            if best[1]:
                up += step
            else:
                down += step
        assert abs(ups[k] - up) <= 2 * step and abs(downs[k] - down) <= 2 * step, h


def test_status_since_is_the_start_of_the_current_run():
    state = StoreState("s")
    m = US_PER_MINUTE
    state.add_polls([(T0, True), (T0 + 60 * m, False), (T0 + 120 * m, False),
                     (T0 + 180 * m, False), (T0 + 240 * m, True)])
    assert state.status_since(T0 + 200 * m) == (T0 + 60 * m, False)
    assert state.status_since(T0 + 240 * m) == (T0 + 240 * m, True)
    assert state.status_since(T0 + 30 * m) == (T0, True)
    assert state.status_since(T0 - 1) is None
    assert state.status_since(T0 + 9 * US_PER_DAY) is None  # beyond the horizon


def test_business_time():
    state = StoreState("s")
    state.set_timezone("UTC")
    state.set_hours([(d, 9 * US_PER_HOUR, 17 * US_PER_HOUR) for d in range(7)])
    day = T0 // US_PER_DAY * US_PER_DAY
    assert state.business_time(day, day + US_PER_DAY) == 8 * US_PER_HOUR
    assert state.business_time(day + 16 * US_PER_HOUR, day + 34 * US_PER_HOUR) == 2 * US_PER_HOUR
    assert state.business_time(day, day) == 0
