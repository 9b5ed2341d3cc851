"""What each number rests on (core/evidence.py): hand cases and properties against a
brute-force, minute-by-minute evaluation of the rules in docs/semantics.md."""

from __future__ import annotations

import io
from bisect import bisect_left

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamproc.core.evidence import Evidence, evidence, week_picture
from streamproc.core.records import US_PER_DAY, US_PER_HOUR, US_PER_MINUTE
from streamproc.core.report_rows import (
    OPTIONAL_COLUMNS,
    check_columns,
    report_rows,
    row_from_wire,
    write_csv,
)
from streamproc.core.state import StoreState

MIN = US_PER_MINUTE
NOW = 1_674_000_000 * 1_000_000 // (2 * MIN) * (2 * MIN)  # an even minute, Jan 2023
WEEK_MIN, HOUR_MIN, DAY_MIN = 7 * 24 * 60, 60, 24 * 60


def state_of(polls, hours=None, tz="UTC") -> StoreState:
    state = StoreState("s")
    state.set_timezone(tz)
    state.set_hours(hours)
    state.add_polls(polls)
    return state


# -- hand cases ---------------------------------------------------------------------------


def test_one_poll_in_a_week_says_so():
    """100% uptime from a single poll: one observation, the whole rest of the week a gap."""
    state = state_of([(NOW - 3 * US_PER_DAY, True)])
    ev = evidence(state, NOW)
    assert state.values(NOW)[2] == 7 * US_PER_DAY
    assert ev.observations_last_week == 1
    assert (ev.observations_last_hour, ev.observations_last_day) == (0, 0)
    assert ev.longest_gap_last_week == 4 * US_PER_DAY  # from the poll to now
    assert ev.outages_last_week == ev.longest_outage_last_week == 0


def test_outage_between_active_polls_runs_midpoint_to_midpoint():
    h = US_PER_HOUR
    state = state_of([(NOW - 6 * h, True), (NOW - 4 * h, False), (NOW - 3 * h, False),
                      (NOW - 1 * h, True)])
    ev = evidence(state, NOW)
    # down from the midpoint -5h to the midpoint -2h: 3 hours, outside the last hour
    assert ev.longest_outage_last_week == 3 * h
    assert (ev.outages_last_hour, ev.outages_last_day, ev.outages_last_week) == (0, 1, 1)
    assert ev.observations_last_day == 4
    assert ev.longest_gap_last_week == 7 * US_PER_DAY - 6 * h  # week start to first poll


def test_ongoing_outage_and_one_before_the_window_count_in_their_windows():
    h = US_PER_HOUR
    state = state_of([(NOW - 8 * US_PER_DAY + h, False), (NOW - 5 * US_PER_DAY, True),
                      (NOW - 30 * 60 * 1_000_000, False)])
    ev = evidence(state, NOW)
    assert (ev.outages_last_hour, ev.outages_last_day, ev.outages_last_week) == (1, 1, 2)
    down_week = state.values(NOW)[5]
    picture = week_picture(state, NOW)
    assert sum(o["down_us"] for o in picture["outages"]) == down_week
    assert picture["outages"][0]["began_before"] and picture["outages"][-1]["ongoing"]
    assert ev.longest_outage_last_week == max(o["down_us"] for o in picture["outages"])


def test_closed_time_is_no_gap_and_no_outage():
    """Open Mon 09:00-17:00 UTC only: the nights between polls are not gaps."""
    hours = [(0, 9 * US_PER_HOUR, 17 * US_PER_HOUR)]
    monday = NOW - (NOW // US_PER_DAY + 3) % 7 * US_PER_DAY  # 1970-01-01 was a Thursday
    monday -= monday % US_PER_DAY
    now = monday + 17 * US_PER_HOUR
    state = state_of([(monday + 10 * US_PER_HOUR, True), (monday + 12 * US_PER_HOUR, True)],
                     hours)
    ev = evidence(state, now)
    assert ev.longest_gap_last_week == 5 * US_PER_HOUR  # 12:00 to 17:00
    assert ev.observations_last_week == 2


def test_no_now_and_no_observation():
    assert evidence(state_of([]), None) == Evidence(*(0,) * 8)
    ev = evidence(state_of([]), NOW)
    assert ev.longest_gap_last_week == 7 * US_PER_DAY and ev.observations_last_week == 0


# -- the optional columns -----------------------------------------------------------------


def test_default_csv_is_the_contract_and_columns_are_appended_in_order():
    state = state_of([(NOW - US_PER_HOUR, False), (NOW - 10 * MIN, True)])
    rows = report_rows({"s": state}, NOW, figures=True)
    plain = io.StringIO()
    write_csv(rows, plain)
    assert plain.getvalue().splitlines()[0].count(",") == 6
    extra = io.StringIO()
    write_csv(rows, extra, ("longest_outage_minutes_last_week", "observations_last_day"))
    header, line = extra.getvalue().splitlines()
    assert header.endswith(",longest_outage_minutes_last_week,observations_last_day")
    # the first observation (inactive) reaches back to the week start; down to the midpoint
    assert line.split(",")[7:] == [f"{7 * 24 * 60 - 35}.00", "2"]
    assert row_from_wire(list(rows[0])) == rows[0]


@pytest.mark.parametrize("bad, reason", [
    (["nope"], "unknown column 'nope'"),
    (["uptime_last_hour"], "always in the report"),
    (["outages_last_day", "outages_last_day"], "twice"),
    ("outages_last_day", "list"),
    ([3], "strings"),
])
def test_bad_columns_are_refused_with_a_reason(bad, reason):
    with pytest.raises(ValueError, match=reason):
        check_columns(bad)


def test_every_optional_column_is_accepted():
    assert check_columns(list(OPTIONAL_COLUMNS)) == tuple(OPTIONAL_COLUMNS)
    assert check_columns(None) == ()


# -- properties against brute force -------------------------------------------------------


def brute(state: StoreState, polls, now: int) -> dict:
    """Minute by minute: each business minute takes the nearest observation (minute centres
    never tie: polls are on even minutes), outages are runs of inactive observations."""
    obs: dict[int, bool] = {}
    for ts, up in polls:
        if now - 8 * US_PER_DAY <= ts <= now and state.is_open(ts):
            obs[ts] = obs.get(ts, True) and up
    times = sorted(obs)
    run_of, run = [], 0
    for k, ts in enumerate(times):
        if k and obs[ts] != obs[times[k - 1]]:
            run += 1
        run_of.append(run)
    out = {}
    for name, minutes in (("hour", HOUR_MIN), ("day", DAY_MIN), ("week", WEEK_MIN)):
        start = now - minutes * MIN
        down_by_run: dict[int, int] = {}
        gaps, current = [], 0
        for m in range(minutes):
            t = start + m * MIN
            if t in obs:
                gaps.append(current)
                current = 0
            if not state.is_open(t):
                continue
            current += MIN
            if not times:
                continue
            c = t + MIN // 2
            i = bisect_left(times, c)
            k = i if i == 0 or (i < len(times) and times[i] - c < c - times[i - 1]) else i - 1
            if not obs[times[k]]:
                down_by_run[run_of[k]] = down_by_run.get(run_of[k], 0) + MIN
        gaps.append(current)
        out[name] = (sum(1 for ts in times if ts >= start), len(down_by_run),
                     max(down_by_run.values(), default=0), max(gaps),
                     sum(down_by_run.values()))
    return out


polls_st = st.lists(
    st.tuples(st.integers(-9 * DAY_MIN // 2, 30), st.booleans()).map(
        lambda p: (NOW + 2 * p[0] * MIN, p[1])), max_size=25)
hours_st = st.one_of(st.none(), st.lists(
    st.tuples(st.integers(0, 6), st.integers(0, 23 * 60), st.integers(0, 23 * 60)).map(
        lambda r: (r[0], r[1] * MIN, r[2] * MIN)), min_size=1, max_size=4))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(polls=polls_st, hours=hours_st, tz=st.sampled_from(["UTC", "America/Chicago",
                                                           "Asia/Kolkata"]))
def test_figures_match_brute_force(polls, hours, tz):
    state = state_of(polls, hours, tz)
    ev = evidence(state, NOW)
    want = brute(state, polls, NOW)
    assert (ev.observations_last_hour, ev.observations_last_day, ev.observations_last_week) \
        == tuple(want[w][0] for w in ("hour", "day", "week"))
    assert (ev.outages_last_hour, ev.outages_last_day, ev.outages_last_week) \
        == tuple(want[w][1] for w in ("hour", "day", "week"))
    assert ev.longest_outage_last_week == want["week"][2]
    assert ev.longest_gap_last_week == want["week"][3]
    assert state.values(NOW)[3:] == tuple(want[w][4] for w in ("hour", "day", "week"))


@settings(max_examples=40, deadline=None)
@given(polls=polls_st, hours=hours_st, tz=st.sampled_from(["UTC", "America/Chicago",
                                                           "Asia/Kolkata"]))
def test_picture_adds_up_to_the_report(polls, hours, tz):
    """Segments, days and outages of the store page sum to the week's report values."""
    state = state_of(polls, hours, tz)
    values = state.values(NOW)
    pic = week_picture(state, NOW)
    ups = sum(e - s for s, e, up in pic["segments"] if up)
    downs = sum(e - s for s, e, up in pic["segments"] if not up)
    assert (ups, downs) == (values[2], values[5])
    assert sum(d["up_us"] for d in pic["days"]) == values[2]
    assert sum(d["down_us"] for d in pic["days"]) == values[5]
    assert sum(o["down_us"] for o in pic["outages"]) == values[5]
    assert sum(d["business_us"] for d in pic["days"]) == state.business_time(
        NOW - 7 * US_PER_DAY, NOW)
    if values[2] + values[5]:
        assert sum(d["business_us"] for d in pic["days"]) == values[2] + values[5]


@settings(max_examples=40, deadline=None)
@given(polls=polls_st, hours=hours_st, split=st.integers(1, 5))
def test_figures_do_not_depend_on_how_polls_arrived(polls, hours, split):
    """The worker patches its state poll by poll; the batch builds it at once."""
    bulk = state_of(polls, hours)
    live = state_of([], hours)
    for i in range(split):
        live.add_polls(polls[i::split][::-1])
    assert evidence(live, NOW) == evidence(bulk, NOW)
    assert week_picture(live, NOW) == week_picture(bulk, NOW)
