"""Special hours (holidays, closures, events): the rule, its parsing and its state handling.

The rule (docs/semantics.md, "Special hours"): for a local date D with at least one special
row, the intervals that *start* on D are exactly D's special rows (both times empty: closed);
intervals of D-1 running past midnight are untouched; a store without weekly rows is open
all day on the other dates. The core is checked against a brute-force evaluation of that
sentence, minute by minute through zoneinfo (fold=0), and whole reports against the oracle.
"""

from __future__ import annotations

import calendar
import random
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamproc import csvfiles
from streamproc.core import parsing
from streamproc.core.hours import CLOSED, business_intervals
from streamproc.core.records import US_PER_DAY, US_PER_HOUR, US_PER_MINUTE, Rejection
from streamproc.core.report_rows import compute_report
from streamproc.core.state import StoreState
from tests.support import oracle

D, H, M = US_PER_DAY, US_PER_HOUR, US_PER_MINUTE
EPOCH = date(1970, 1, 1)
ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "America/Santiago",
         "Asia/Kolkata"]


def _utc(y: int, mo: int, d: int) -> int:
    return calendar.timegm((y, mo, d, 0, 0, 0, 0, 0, 0)) * 1_000_000


# Starts of spans holding a DST change in one of the zones (Santiago's is at local midnight).
BASES = [_utc(2026, 3, 6), _utc(2026, 3, 27), _utc(2026, 4, 3), _utc(2026, 9, 4),
         _utc(2026, 10, 23), _utc(2026, 10, 30), _utc(2026, 12, 23)]
SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def day_number(d: date) -> int:
    return (d - EPOCH).days


# --------------------------------------------------------------------------- brute force


@cache
def wall_us(tz: str, d: date, time_us: int) -> int:
    """Local wall time on date ``d`` as UTC µs: an aware datetime, fold=0, no core code."""
    hour, rest = divmod(time_us, H)
    minute, second = divmod(rest // 1_000_000, 60)
    local = datetime(d.year, d.month, d.day, hour, minute, second, tzinfo=ZoneInfo(tz), fold=0)
    return (local - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def rows_starting_on(weekly, special, d: date) -> list[tuple[int, int]]:
    """The rule, read literally: which (start, end) wall times open on local date ``d``."""
    todays = [(s, e) for day, s, e in special if day == day_number(d)]
    if todays:
        return [(s, e) for s, e in todays if s != CLOSED]
    if not weekly:
        return [(0, 0)]  # 24x7 store: the whole local day
    return [(s, e) for day, s, e in weekly if day == d.weekday()]


def brute_open(weekly, special, tz: str, t_us: int) -> bool:
    """Is the store open at instant ``t_us``? Every candidate date, every row, directly."""
    if not weekly and not special:
        return True
    local = datetime.fromtimestamp(t_us // 1_000_000, ZoneInfo(tz)).date()
    for back in range(-1, 3):
        d = local - timedelta(days=back)
        for s, e in rows_starting_on(weekly, special, d):
            end_date = d + timedelta(days=1) if e <= s else d
            if wall_us(tz, d, s) <= t_us < wall_us(tz, end_date, e):
                return True
    return False


# --------------------------------------------------------------------------- strategies

minute_of_day = st.integers(0, 47).map(lambda k: k * 30 * M) | st.integers(0, 1439).map(
    lambda k: k * M
)


@st.composite
def weekly_rows(draw):
    if draw(st.integers(0, 3)) == 0:
        return []
    rows = []
    for _ in range(draw(st.integers(1, 6))):
        start = draw(minute_of_day)
        end = start if draw(st.integers(0, 6)) == 0 else draw(minute_of_day)
        rows.append((draw(st.integers(0, 6)), start, end))
    return rows


@st.composite
def special_rows(draw, base_us: int):
    """Special rows on dates around ``base_us``: closures, overnight rows, several a date."""
    first = base_us // D - 2
    rows = []
    for _ in range(draw(st.integers(0, 6))):
        day = first + draw(st.integers(0, 7))
        if draw(st.integers(0, 3)) == 0:
            rows.append((day, CLOSED, CLOSED))
        else:
            start = draw(minute_of_day)
            end = start if draw(st.integers(0, 6)) == 0 else draw(minute_of_day)
            rows.append((day, start, end))
    return rows


@st.composite
def cases(draw):
    base = draw(st.sampled_from(BASES)) + draw(st.integers(0, 2 * 24)) * H
    return draw(weekly_rows()), draw(special_rows(base)), draw(st.sampled_from(ZONES)), base


# --------------------------------------------------------------------------- the rule


@SETTINGS
@given(cases())
def test_business_intervals_equal_brute_force_minute_by_minute(case):
    weekly, special, tz, base = case
    start, end = base, base + 4 * D
    intervals = business_intervals(weekly or None, tz, start, end, special)
    edges = iter(intervals)
    current = next(edges, None)
    for t in range(start, end, M):
        while current is not None and current[1] <= t:
            current = next(edges, None)
        core_open = current is not None and current[0] <= t
        assert core_open == brute_open(weekly, special, tz, t), (t, intervals)
    total = sum(e - s for s, e in intervals)
    assert total % M == 0  # every edge is on a minute here, so the samples see all of it


def test_a_date_with_special_rows_ignores_the_weekly_rows_of_that_date_only():
    tz = "America/New_York"
    weekly = [(d, 9 * H, 17 * H) for d in range(7)]
    christmas = day_number(date(2026, 12, 25))
    special = [(christmas, CLOSED, CLOSED), (christmas + 1, 12 * H, 14 * H)]
    got = business_intervals(weekly, tz, _utc(2026, 12, 24), _utc(2026, 12, 28), special)
    hours = [(e - s) // H for s, e in got]
    assert hours == [8, 2, 8]  # the 24th as usual, closed on the 25th, 12-14 on the 26th, 27th
    assert got[1][0] == wall_us(tz, date(2026, 12, 26), 12 * H)


def test_overnight_interval_of_the_day_before_is_untouched():
    tz = "Europe/Berlin"
    weekly = [(3, 20 * H, 2 * H)]  # Thursday 20:00 to Friday 02:00
    friday = day_number(date(2026, 12, 25))  # a Friday: closed all day
    got = business_intervals(weekly, tz, _utc(2026, 12, 23), _utc(2026, 12, 27),
                             [(friday, CLOSED, CLOSED)])
    night = (wall_us(tz, date(2026, 12, 24), 20 * H), wall_us(tz, date(2026, 12, 25), 2 * H))
    assert got == [night]


def test_24x7_store_is_open_all_day_except_in_its_special_rows_dates():
    tz = "America/New_York"
    new_year = day_number(date(2027, 1, 1))
    got = business_intervals(None, tz, _utc(2026, 12, 31), _utc(2027, 1, 3),
                             [(new_year, 10 * H, 16 * H)])
    open_new_year = (wall_us(tz, date(2027, 1, 1), 10 * H), wall_us(tz, date(2027, 1, 1), 16 * H))
    assert got == [(_utc(2026, 12, 31), wall_us(tz, date(2027, 1, 1), 0)), open_new_year,
                   (wall_us(tz, date(2027, 1, 2), 0), _utc(2027, 1, 3))]


@pytest.mark.parametrize(
    ("day", "start", "end", "hours"),
    [
        (date(2026, 3, 8), 1 * H, 5 * H, 3),  # New York springs forward at 02:00: 3 h, not 4
        (date(2026, 11, 1), 1 * H, 3 * H, 3),  # falls back at 02:00: 01:00 EDT to 03:00 EST
        (date(2026, 12, 31), 18 * H, 2 * H, 8),  # New Year's Eve until 02:00 on the 1st
    ],
)
def test_worked_examples_of_the_semantics_doc(day, start, end, hours):
    tz = "America/New_York"
    got = business_intervals([(0, 9 * H, 17 * H)], tz, _utc(2026, 1, 1), _utc(2027, 12, 31),
                             [(day_number(day), start, end)])
    special = [(s, e) for s, e in got if wall_us(tz, day, start) <= s < wall_us(tz, day, start) + D]
    assert [(e - s) / H for s, e in special] == [hours]


# --------------------------------------------------------------------------- reports


@st.composite
def reports(draw):
    base = draw(st.sampled_from(BASES)) + draw(st.integers(0, D))
    polls, hours, tzs, special = [], [], [], []
    for sid in draw(st.lists(st.sampled_from(["1", "2", "x"]), min_size=1, max_size=3,
                             unique=True)):
        hours += [(sid, *r) for r in draw(weekly_rows())]
        special += [(sid, *r) for r in draw(special_rows(base + 6 * D))]
        tzs.append((sid, draw(st.sampled_from(ZONES))))
        # Whole seconds, one status per instant: the tolerance below is for rounding, and
        # conflicting polls at one instant are a rule of their own (test_contract_properties).
        seconds = draw(st.lists(st.integers(0, 9 * D // 1_000_000), max_size=30, unique=True))
        polls += [(sid, base + s * 1_000_000, draw(st.booleans())) for s in seconds]
    return polls, hours, tzs, special


def _oracle_special(special):
    return [(sid, EPOCH + timedelta(days=d), None if s == CLOSED else s,
             None if e == CLOSED else e) for sid, d, s, e in special]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reports())
def test_report_with_special_hours_matches_the_oracle(case):
    polls, hours, tzs, special = case
    got = compute_report(polls, hours, tzs, special=special)
    want = oracle.compute_report(polls, hours, tzs, special=_oracle_special(special))
    assert [r[0] for r in got] == [w[0] for w in want]
    for g, w in zip(got, want, strict=True):
        assert all(abs(Fraction(a) - b) <= 2 for a, b in zip(g[1:], w[1:], strict=True)), (g, w)


def _apply(state: StoreState, step: tuple) -> None:
    kind, value = step
    getattr(state, kind)(value)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(reports(), st.randoms(use_true_random=False))
def test_state_does_not_depend_on_the_order_of_updates(case, rnd: random.Random):
    polls, hours, tzs, special = case
    for sid in {p[0] for p in polls}:
        mine = [(ts, a) for i, ts, a in polls if i == sid]
        now = max(ts for ts, _ in mine)
        steps = [("add_polls", mine[: len(mine) // 2]), ("add_polls", mine[len(mine) // 2 :]),
                 ("set_timezone", dict(tzs)[sid]),
                 ("set_hours", [r[1:] for r in hours if r[0] == sid] or None)]
        final = ("set_special", [r[1:] for r in special if r[0] == sid] or None)
        fresh = StoreState(sid)
        for step in [*steps, final]:
            _apply(fresh, step)
        live = StoreState(sid)
        live.set_special([(now // D, CLOSED, CLOSED)])  # a date later changed again
        rnd.shuffle(steps)
        for step in [*steps, final]:
            _apply(live, step)
        assert live.values(now) == fresh.values(now)
        again = StoreState.from_bytes(sid, live.to_bytes())
        assert again.special == fresh.special and again.values(now) == fresh.values(now)


def test_version_1_state_bytes_are_still_read():
    state = StoreState("s")
    state.set_hours([(0, 9 * H, 17 * H)])
    state.add_polls([(_utc(2026, 12, 21) + 15 * H, True)])
    data = state.to_bytes()
    head = 3 + len(state.tz or "") + 4 + 17
    v1 = b"\x01" + data[1:head] + data[head + 4 :]  # no special-hours block
    old = StoreState.from_bytes("s", v1)
    assert old.special is None and old.hours == state.hours and old.polls() == state.polls()


def test_changing_special_hours_rebuilds_the_values():
    state = StoreState("s")
    state.set_timezone("UTC")
    state.set_hours([(d, 9 * H, 17 * H) for d in range(7)])
    day = _utc(2026, 12, 25)
    state.add_polls([(day + 10 * H, False), (day + 16 * H, False)])
    now = day + 18 * H
    assert state.values(now)[4] == 8 * H  # down all of the 25th's business day
    assert state.set_special([(day // D, CLOSED, CLOSED)])
    assert state.values(now) == (0,) * 6  # closed: no observation counts
    assert not state.set_special([(day // D, CLOSED, CLOSED)])  # idempotent
    assert state.set_special([(day // D, 15 * H, 17 * H)])
    assert state.values(now)[4] == 2 * H
    assert state.set_special(None)
    assert state.values(now)[4] == 8 * H


# --------------------------------------------------------------------------- parsing


def test_special_hours_csv_rows_and_rejections():
    lines = [
        "store_id,date,start_time_local,end_time_local",
        "1,2026-12-25,,",
        "1,2026-12-31,18:00,02:00",
        "2,2026-02-30,,",
        "3,2026-01-01,10:00,",
        "4,,09:00,17:00",
        "5,2026-01-01,25:00,26:00",
        "6,1969-12-31,,",
    ]
    got = list(csvfiles.iter_special_hours(lines))
    assert got[:2] == [("1", day_number(date(2026, 12, 25)), CLOSED, CLOSED),
                       ("1", day_number(date(2026, 12, 31)), 18 * H, 2 * H)]
    reasons = [r.reason for r in got[2:]]
    assert all(isinstance(r, Rejection) for r in got[2:])
    assert [r.line for r in got[2:]] == [4, 5, 6, 7, 8]
    assert "does not exist" in reasons[0]
    assert "or leave both empty" in reasons[1]
    assert reasons[2] == "missing date"
    assert "start_time_local" in reasons[3]
    assert "outside 1970..2100" in reasons[4]


def test_special_hours_header_needs_a_date_column():
    with pytest.raises(parsing.HeaderError, match="date"):
        list(csvfiles.iter_special_hours(["store_id,day,start_time_local,end_time_local"]))


def _report_line(polls, hours, tz, special, as_of) -> str:
    """One store's report line via the real CSV parsers and the batch core."""
    import io

    from streamproc.core.report_rows import write_csv
    from streamproc.core.timeparse import parse_timestamp

    parsed = [list(parser(lines)) for parser, lines in (
        (csvfiles.iter_polls, polls), (csvfiles.iter_hours, hours),
        (csvfiles.iter_timezones, tz), (csvfiles.iter_special_hours, special))]
    out = io.StringIO()
    write_csv(compute_report(*parsed[:3], as_of=parse_timestamp(as_of), special=parsed[3]), out)
    return out.getvalue().splitlines()[1]


def test_semantics_example_6_overnight_holiday():
    line = _report_line(
        ["store_id,status,timestamp_utc", "9009,active,2027-01-01 01:00:00 UTC",
         "9009,inactive,2027-01-01 06:00:00 UTC", "9009,active,2027-01-01 16:00:00 UTC"],
        ["store_id,dayOfWeek,start_time_local,end_time_local",
         *(f"9009,{d},09:00,17:00" for d in range(7))],
        ["store_id,timezone_str", "9009,America/New_York"],
        ["store_id,date,start_time_local,end_time_local", "9009,2026-12-31,18:00,02:00",
         "9009,2027-01-01,,"],
        "2027-01-01 17:00:00 UTC")
    assert line == "9009,0.00,4.50,49.50,0.00,3.50,3.50"


def test_semantics_example_7_special_hours_on_the_spring_forward_date():
    line = _report_line(
        ["store_id,status,timestamp_utc", "9010,active,2023-03-12 07:30:00 UTC",
         "9010,inactive,2023-03-12 09:00:00 UTC", "9010,active,2023-03-12 17:00:00 UTC"],
        ["store_id,dayOfWeek,start_time_local,end_time_local", "9010,6,10:00,18:00"],
        ["store_id,timezone_str", "9010,America/Chicago"],
        ["store_id,date,start_time_local,end_time_local", "9010,2023-03-12,01:00,05:00"],
        "2023-03-12 18:00:00 UTC")
    assert line == "9010,0.00,1.25,7.25,0.00,1.75,1.75"
