"""Hypothesis strategies of small report inputs, shared by the contract's property tests and the
batch command's (tests/unit/core/test_contract_properties.py, test_batch_rows.py,
test_state_replace.py).

Random small stores: business-hours rows (overnight, end == start, several per day, odd
microseconds), zones with and without DST (incl. a 30-minute DST shift), polls over ~9 days
around DST changes with duplicate timestamps and conflicting statuses, with and without
``as_of``.
"""

from __future__ import annotations

import calendar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from streamproc.core.records import US_PER_DAY, US_PER_MINUTE

D = US_PER_DAY

ZONES = [
    None,  # no zone row: America/Chicago
    "UTC",
    "America/New_York",
    "America/Chicago",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Australia/Lord_Howe",  # DST shift of 30 minutes
]


def utc(y: int, mo: int, d: int) -> int:
    return calendar.timegm((y, mo, d, 0, 0, 0, 0, 0, 0)) * 1_000_000


# Starts of ~9-day spans that contain a DST change in at least one of the zones, and one quiet one.
BASES = [
    utc(2023, 3, 6),  # America/* spring forward 03-12
    utc(2023, 3, 20),  # Europe/Berlin 03-26
    utc(2023, 3, 28),  # Australia/Lord_Howe 04-02 (fall back 30 min)
    utc(2023, 9, 26),  # Australia/Lord_Howe 10-01 (spring forward 30 min)
    utc(2023, 10, 23),  # Europe/Berlin 10-29
    utc(2023, 10, 30),  # America/* fall back 11-05
    utc(2023, 1, 10),  # nothing
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
