"""Property tests of the report contract: the real core against itself and the slow oracle.

Random small stores: business-hours rows (overnight, end == start, several per day, odd
microseconds), zones with and without DST (incl. a 30-minute DST shift), polls over ~9 days around
DST changes with duplicate timestamps and conflicting statuses, with and without ``as_of``
(the strategies: tests/support/report_cases.py).
"""

from __future__ import annotations

import random
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from streamproc.core.hours import business_intervals
from streamproc.core.records import DEFAULT_TIMEZONE, US_PER_DAY, US_PER_HOUR
from streamproc.core.report_rows import compute_report
from streamproc.core.state import StoreState
from tests.support import oracle
from tests.support.report_cases import (
    BASES,
    SPAN,
    ZONES,
    hours_rows,
    poll_list,
    reports,
    settings_,
    utc,
)

D = US_PER_DAY
H = US_PER_HOUR
WINDOWS = (H, D, 7 * D)
TOL_US = 2  # per value: a midpoint may fall on half a microsecond and be rounded


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
        now = utc(2023, 1, 20)
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
