"""Week-over-week trends (core/trends.py): UTC weeks from Monday, a week's numbers are the
report's at its end, and 8 weeks survive the 8-day horizon of the polls."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from streamproc.core.records import US_PER_DAY, US_PER_HOUR, US_PER_MINUTE
from streamproc.core.state import StoreState
from streamproc.core.trends import (
    KEEP,
    WEEK_US,
    decode,
    encode,
    trend_json,
    updated,
    week_of,
    week_start,
    week_values,
)

MONDAY = 1_673_827_200_000_000  # 2023-01-16T00:00:00Z, a Monday
RETAIN_US = 9 * US_PER_DAY  # what the worker keeps (the horizon plus one day)


@given(st.integers(0, 2**52))
def test_weeks_start_on_monday_midnight_utc(ts: int) -> None:
    start = week_start(week_of(ts))
    assert start <= ts < start + WEEK_US
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=start)
    assert (moment.weekday(), moment.hour, moment.minute, moment.second) == (0, 0, 0, 0)


def _store(seed: int, days: int) -> tuple[StoreState, list[tuple[int, bool]]]:
    rng = random.Random(seed)
    state = StoreState("s")
    state.set_timezone("America/New_York")
    state.set_hours([(d, 8 * US_PER_HOUR, 22 * US_PER_HOUR) for d in range(6)])
    polls = []
    for h in range(days * 24):
        ts = MONDAY + h * US_PER_HOUR + rng.randrange(-15, 15) * US_PER_MINUTE
        polls.append((ts, rng.random() < (0.6 if (h // 24) % 5 == 0 else 0.97)))
    return state, polls


@given(st.integers(0, 1000))
def test_a_weeks_numbers_are_the_reports_last_week_at_its_end(seed: int) -> None:
    state, polls = _store(seed, 15)
    state.add_polls(polls)
    week = week_of(MONDAY) + 1
    end = week_start(week) + WEEK_US
    values = state.values(end)
    assert week_values(state, week, end) == (values[2], values[5])


def test_eight_weeks_survive_the_horizon_and_equal_a_full_history() -> None:
    state, polls = _store(3, 75)
    full = StoreState("s")
    full.set_timezone(state.tz)
    full.set_hours(state.hours)
    full.add_polls(polls)
    kept: dict = {}
    for day in range(75):  # a day of polls at a time, evicted like the worker does
        now = MONDAY + (day + 1) * US_PER_DAY - 1
        state.add_polls([p for p in polls if now - US_PER_DAY < p[0] <= now])
        state.evict_before(now - RETAIN_US)
        kept = decode(encode(updated(kept, state, now)))
    assert state.first_poll_us >= now - RETAIN_US, "old polls are gone"
    assert len(kept) == KEEP
    current = week_of(now)
    assert sorted(kept) == list(range(current - KEEP, current)), "the newest closed weeks"
    for week, (up, down) in kept.items():
        settled = week_start(week) + WEEK_US + US_PER_DAY - 1  # the last daily recompute
        assert (up, down) == week_values(full, week, settled), week
        assert (up, down) == week_values(full, week, week_start(week) + WEEK_US + US_PER_DAY
                                         // 2), "settled: polls a day later change nothing"
        assert up + down > 0
    trend = trend_json(kept, state, now)
    assert len(trend) == KEEP and trend[-1]["partial"] and not trend[0]["partial"]
    assert [t["week_start_us"] for t in trend] == [week_start(w)
                                                   for w in range(current - 7, current + 1)]
    for before, after in zip(trend, trend[1:], strict=False):
        assert after["change_points"] == round(after["uptime_percent"]
                                               - before["uptime_percent"], 2)


def test_a_week_whose_polls_are_gone_keeps_its_value() -> None:
    state, polls = _store(5, 30)
    now = MONDAY + 8 * US_PER_DAY
    state.add_polls([p for p in polls if p[0] <= now])
    kept = updated({}, state, now)
    first = week_of(MONDAY)
    assert first in kept
    later = now + 20 * US_PER_DAY
    state.add_polls([p for p in polls if now < p[0] <= later])
    state.evict_before(later - RETAIN_US)
    assert updated(kept, state, later)[first] == kept[first]
