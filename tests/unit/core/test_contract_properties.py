"""Property tests of the report contract: the real core against itself and the slow oracle.

Random small stores: business-hours rows (overnight, end == start, several per day, odd
microseconds), zones with and without DST (incl. a 30-minute DST shift), polls over ~9 days around
DST changes with duplicate timestamps and conflicting statuses, with and without ``as_of``.
"""

from __future__ import annotations

import calendar
import random
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamproc.core.hours import business_intervals
from streamproc.core.records import DEFAULT_TIMEZONE, US_PER_DAY, US_PER_HOUR, US_PER_MINUTE
from streamproc.core.report_rows import compute_report
from streamproc.core.state import StoreState
from tests.support import oracle

D = US_PER_DAY
H = US_PER_HOUR
WINDOWS = (H, D, 7 * D)
TOL_US = 2  # per value: a midpoint may fall on half a microsecond and be rounded

ZONES = [
    None,  # no zone row: America/Chicago
    "UTC",
    "America/New_York",
    "America/Chicago",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Australia/Lord_Howe",  # DST shift of 30 minutes
]


def _utc(y: int, mo: int, d: int) -> int:
    return calendar.timegm((y, mo, d, 0, 0, 0, 0, 0, 0)) * 1_000_000


# Starts of ~9-day spans that contain a DST change in at least one of the zones, and one quiet one.
BASES = [
    _utc(2023, 3, 6),  # America/* spring forward 03-12
    _utc(2023, 3, 20),  # Europe/Berlin 03-26
    _utc(2023, 3, 28),  # Australia/Lord_Howe 04-02 (fall back 30 min)
    _utc(2023, 9, 26),  # Australia/Lord_Howe 10-01 (spring forward 30 min)
    _utc(2023, 10, 23),  # Europe/Berlin 10-29
    _utc(2023, 10, 30),  # America/* fall back 11-05
    _utc(2023, 1, 10),  # nothing
]
SPAN = 9 * D

settings_ = settings(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

time_of_day = st.one_of(
    st.integers(0, 47).map(lambda k: k * 30 * US_PER_MINUTE),  # on the half hour (DST edges)
    st.integers(0, D - 1),  # anywhere, to the microsecond
)


@st.composite
def hours_rows(draw):
    """A store's business-hours rows (day, start, end), or None for no rows (24x7)."""
    if draw(st.integers(0, 4)) == 0:
        return None
    rows = []
    for _ in range(draw(st.integers(1, 5))):
        day = draw(st.integers(0, 6))
        start = draw(time_of_day)
        if rows and draw(st.integers(0, 3)) == 0:  # starts where the previous row ends
            day = (rows[-1][0] + (rows[-1][2] <= rows[-1][1])) % 7
            start = rows[-1][2]
        # one in six is end == start (a full day of wall time); else often e < s (overnight)
        end = start if draw(st.integers(0, 5)) == 0 else draw(time_of_day)
        rows.append((day, start, end))
    return rows


@st.composite
def poll_list(draw, base):
    """(ts, active) polls over ~9 days after ``base``, with duplicate timestamps."""
    offsets = st.one_of(
        st.integers(0, SPAN),
        st.integers(0, SPAN // (15 * US_PER_MINUTE)).map(lambda k: k * 15 * US_PER_MINUTE),
    )
    polls = [
        (base + draw(offsets), draw(st.booleans())) for _ in range(draw(st.integers(0, 40)))
    ]
    if polls:
        for _ in range(draw(st.integers(0, 4))):  # same timestamp again, maybe conflicting
            ts, _ = polls[draw(st.integers(0, len(polls) - 1))]
            polls.append((ts, draw(st.booleans())))
    return polls


@st.composite
def reports(draw):
    """(polls, hours, timezones, as_of) for a few stores."""
    base = draw(st.sampled_from(BASES)) + draw(st.integers(0, D))
    polls, hours, tzs = [], [], []
    for sid in draw(st.lists(st.sampled_from(["1", "2", "10", "x"]), min_size=1, max_size=3,
                             unique=True)):
        rows = draw(hours_rows())
        if rows:
            hours += [(sid, *r) for r in rows]
        zone = draw(st.sampled_from(ZONES))
        if zone is not None:
            tzs.append((sid, zone))
        polls += [(sid, ts, a) for ts, a in draw(poll_list(base))]
    as_of = draw(st.one_of(st.none(), st.integers(base, base + SPAN + 2 * D)))
    if as_of is not None and draw(st.booleans()) and polls:
        as_of = draw(st.sampled_from(polls))[1]  # exactly at a poll
    return polls, hours, tzs, as_of


def store_inputs(polls, hours, tzs, sid):
    rows = [(d, s, e) for i, d, s, e in hours if i == sid] or None
    tz = dict(tzs).get(sid, DEFAULT_TIMEZONE)
    return [(ts, a) for i, ts, a in polls if i == sid], rows, tz


def report_now(polls, as_of):
    if as_of is not None:
        return as_of
    return max((ts for _, ts, _ in polls), default=None)


def _close(got, want, tol=TOL_US):
    return all(abs(Fraction(g) - Fraction(w)) <= tol for g, w in zip(got, want, strict=True))


@settings_
@given(reports(), st.randoms(use_true_random=False))
def test_result_does_not_depend_on_input_order(case, rnd):
    polls, hours, tzs, as_of = case
    expected = compute_report(polls, hours, tzs, as_of)
    polls2, hours2 = polls[:], hours[:]
    rnd.shuffle(polls2)
    rnd.shuffle(hours2)
    assert compute_report(polls2, hours2, tzs, as_of) == expected


@settings(settings_, max_examples=150)
@given(reports())
def test_matches_oracle(case):
    polls, hours, tzs, as_of = case
    got = compute_report(polls, hours, tzs, as_of)
    want = oracle.compute_report(polls, hours, tzs, as_of)
    assert [r[0] for r in got] == [r[0] for r in want]
    for g, w in zip(got, want, strict=True):
        assert _close(g[1:], w[1:]), (g, w)
        assert all(isinstance(v, int) for v in g[1:])  # ints on the core side


@settings(settings_, max_examples=150)
@given(reports())
def test_bounds_and_uptime_plus_downtime_is_business_time(case):
    polls, hours, tzs, as_of = case
    now = report_now(polls, as_of)
    for row in compute_report(polls, hours, tzs, as_of):
        values = row[1:]
        for v, width in zip(values, WINDOWS * 2, strict=True):
            assert 0 <= v <= width, row
        if now is None:
            assert values == (0,) * 6
            continue
        store_polls, rows, tz = store_inputs(polls, hours, tzs, row[0])
        if not oracle.observations(store_polls, rows, tz, now):
            assert values == (0,) * 6, row
            continue
        for k, width in enumerate(WINDOWS):
            pieces = business_intervals(rows, tz, now - width, now)
            assert pieces == oracle.business_intervals(rows, tz, now - width, now)
            assert values[k] + values[k + 3] == sum(e - s for s, e in pieces), (row, k)


@settings(settings_, max_examples=200)
@given(hours_rows(), st.sampled_from(ZONES), st.sampled_from(BASES), st.integers(0, SPAN),
       st.integers(0, 3 * D))
def test_business_intervals_match_oracle(rows, zone, base, offset, width):
    tz = zone or DEFAULT_TIMEZONE
    start = base + offset
    got = business_intervals(rows, tz, start, start + width)
    assert got == oracle.business_intervals(rows, tz, start, start + width)
    for (s1, e1), (s2, e2) in zip(got, got[1:], strict=False):
        assert s1 < e1 < s2 < e2  # merged, sorted, non-empty, not touching


@st.composite
def state_case(draw):
    """Final inputs for one store, plus a random order of operations that builds them."""
    base = draw(st.sampled_from(BASES)) + draw(st.integers(0, D))
    polls = draw(poll_list(base))
    rows = draw(hours_rows())
    tz = draw(st.sampled_from(ZONES))
    now = max((ts for ts, _ in polls), default=base) + draw(
        st.one_of(st.just(0), st.integers(0, 2 * H))
    )
    rnd = draw(st.randoms(use_true_random=False))
    shuffled = polls[:]
    rnd.shuffle(shuffled)
    ops: list[tuple] = []
    i = 0
    while i < len(shuffled):
        n = draw(st.integers(1, max(1, len(shuffled) - i)))
        ops.append(("polls", shuffled[i : i + n]))
        i += n

    def insert(op):
        ops.insert(draw(st.integers(0, len(ops))), op)

    insert(("hours", rows))
    insert(("tz", tz))
    if draw(st.booleans()):  # an earlier, different setting that is later replaced
        k = min(j for j, op in enumerate(ops) if op[0] == "hours")
        ops.insert(draw(st.integers(0, k)), ("hours", draw(hours_rows())))
        k = min(j for j, op in enumerate(ops) if op[0] == "tz")
        ops.insert(draw(st.integers(0, k)), ("tz", draw(st.sampled_from(ZONES))))
    for _ in range(draw(st.integers(0, 2))):
        insert(("evict", now - 8 * D - draw(st.integers(0, 2 * D))))
    for _ in range(draw(st.integers(0, 3))):
        insert(("bytes",))
    for _ in range(draw(st.integers(0, 2))):
        insert(("values",))
    return polls, rows, tz, now, ops


@settings(settings_, max_examples=150)
@given(state_case())
def test_incremental_state_equals_fresh_state_and_oracle(case):
    polls, rows, tz, now, ops = case
    state = StoreState("s")
    for op in ops:
        if op[0] == "polls":
            state.add_polls(op[1])
        elif op[0] == "hours":
            state.set_hours(op[1])
        elif op[0] == "tz":
            state.set_timezone(op[1])
        elif op[0] == "evict":
            state.evict_before(op[1])
        elif op[0] == "bytes":
            state = StoreState.from_bytes("s", state.to_bytes())
        else:
            state.values(now)  # may memoise: later operations must invalidate
    fresh = StoreState("s")
    fresh.set_timezone(tz)
    fresh.set_hours(rows)
    fresh.add_polls(polls)
    want = oracle.store_values(polls, rows, tz, now)
    got_fresh = fresh.values(now)
    assert _close(got_fresh, want), (got_fresh, want)
    got = state.values(now)
    assert got == got_fresh
    again = StoreState.from_bytes("s", state.to_bytes())
    assert again.values(now) == got_fresh


def test_oracle_self_check_random_24x7():
    # For a 24x7 store the oracle's answer can be cross-checked by brute force on a 1-second grid.
    rnd = random.Random(7)
    for _ in range(20):
        now = _utc(2023, 1, 20)
        obs = sorted({(now - rnd.randrange(0, 2 * H // 1_000_000) * 1_000_000, rnd.random() < 0.5)
                      for _ in range(6)})
        obs = list({ts: a for ts, a in obs}.items())
        vals = oracle.store_values(obs, None, "UTC", now)
        step = 1_000_000
        up = 0
        for t in range(now - H, now, step):
            mid = t + step // 2
            best = min(obs, key=lambda o: (abs(o[0] - mid), o[0]))
            up += step if best[1] else 0
        assert abs(vals[0] - up) <= len(obs) * step  # grid error: <= one step per midpoint
