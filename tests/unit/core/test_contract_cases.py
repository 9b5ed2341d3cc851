"""Hand-computed cases pinning every rule of the report contract (docs/semantics.md).

Each expected number is worked out by hand in the comments (UTC offsets written out, not looked
up), then checked against BOTH the slow reference (tests/support/oracle.py) and the real core
(streamproc.core.report_rows.compute_report). Values are microseconds of business time.
"""

from __future__ import annotations

import calendar
import io
from fractions import Fraction

import pytest

from streamproc.core.hours import business_intervals
from streamproc.core.records import US_PER_DAY, US_PER_HOUR, US_PER_MINUTE, US_PER_SECOND
from streamproc.core.report_rows import HEADER, ReportRow, compute_report, format_row, write_csv
from tests.support import oracle

S = US_PER_SECOND
M = US_PER_MINUTE
H = US_PER_HOUR
D = US_PER_DAY
W = 7 * D


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> int:
    """A UTC instant in µs (calendar.timegm: independent of zoneinfo and of the oracle)."""
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) * S + us


def tod(h: int, mi: int = 0, s: int = 0) -> int:
    """Local time of day in µs since local midnight."""
    return (h * 3600 + mi * 60 + s) * S


def check(polls, hours, tzs, as_of, expected, tol=0):
    """Both implementations give exactly ``expected`` (list of (store_id, 6 µs values)), in order.

    ``tol`` (µs) only where a midpoint falls on half a microsecond.
    """
    for name, got in (
        ("oracle", oracle.compute_report(polls, hours, tzs, as_of)),
        ("core", compute_report(polls, hours, tzs, as_of)),
    ):
        assert [r[0] for r in got] == [e[0] for e in expected], name
        for row, exp in zip(got, expected, strict=True):
            assert len(row) == 7, name
            for i, (g, e) in enumerate(zip(row[1:], exp[1:], strict=True)):
                assert abs(Fraction(g) - Fraction(e)) <= tol, (name, row[0], i, g, e, g - e)


def formatted(polls, hours, tzs, as_of=None):
    """Formatted rows from both sides (they must agree); returns the core's."""
    core = [format_row(r) for r in compute_report(polls, hours, tzs, as_of)]
    ref = [oracle.format_row(r) for r in oracle.compute_report(polls, hours, tzs, as_of)]
    assert core == ref
    return core


# ---------------------------------------------------------------------------------------------
# The contract's own example. 2023-01-16 is a Monday (day 0). Zone UTC so local == UTC.
# Observations 10:14 active and 11:15 inactive: midpoint (614 min + 675 min) / 2 = 644.5 min
# = 10:44:30, so 09:00-10:44:30 up, 10:44:30-12:00 down.
# ---------------------------------------------------------------------------------------------
EX_HOURS = [("ex", 0, tod(9), tod(12))]
EX_TZ = [("ex", "UTC")]
EX_POLLS = [("ex", utc(2023, 1, 16, 10, 14), True), ("ex", utc(2023, 1, 16, 11, 15), False)]


def test_contract_example_whole_business_day():
    # as_of Mon 12:00.
    # hour [11:00, 12:00): all after 10:44:30 -> down 60 min.
    # day [Sun 12:00, Mon 12:00): Sunday closed; Mon 09:00-10:44:30 up = 1h44m30s = 6270 s,
    #   10:44:30-12:00 down = 1h15m30s = 4530 s.
    # week [Mon 01-09 12:00, ...): the 01-09 interval [09:00, 12:00) ends at the window start
    #   (half-open) -> nothing more; week == day.
    as_of = utc(2023, 1, 16, 12)
    check(EX_POLLS, EX_HOURS, EX_TZ, as_of,
          [("ex", 0, 6270 * S, 6270 * S, 60 * M, 4530 * S, 4530 * S)])
    # 6270/3600 = 1.7416.. -> 1.74 ; 4530/3600 = 1.2583.. -> 1.26
    assert formatted(EX_POLLS, EX_HOURS, EX_TZ, as_of) == [
        ["ex", "0.00", "1.74", "1.74", "60.00", "1.26", "1.26"]
    ]


def test_contract_example_mid_morning_with_status_extending_to_the_edge():
    # as_of Mon 11:30.
    # hour [10:30, 11:30): up 10:30-10:44:30 = 14.5 min (870 s); down 10:44:30-11:30 = 45.5 min.
    # day [Sun 11:30, Mon 11:30): up 09:00-10:44:30 = 6270 s; down 2730 s.
    # week [Mon 01-09 11:30, Mon 01-16 11:30): adds 01-09 11:30-12:00 = 1800 s, whose nearest
    #   observation is 01-16 10:14 (active; before the first observation its status extends to
    #   the edge) -> up 1800 + 6270 = 8070 s; down 2730 s.
    as_of = utc(2023, 1, 16, 11, 30)
    check(EX_POLLS, EX_HOURS, EX_TZ, as_of,
          [("ex", 870 * S, 6270 * S, 8070 * S, 2730 * S, 2730 * S, 2730 * S)])
    # 8070/3600 = 2.2416.. -> 2.24 ; 2730/3600 = 0.7583.. -> 0.76
    assert formatted(EX_POLLS, EX_HOURS, EX_TZ, as_of) == [
        ["ex", "14.50", "1.74", "2.24", "45.50", "0.76", "0.76"]
    ]


def test_contract_example_now_is_the_last_poll():
    # no as_of: now = max poll = Mon 11:15.
    # hour [10:15, 11:15): up 10:15-10:44:30 = 29.5 min = 1770 s; down 10:44:30-11:15 = 1830 s.
    # day: up 09:00-10:44:30 = 6270 s; down 1830 s.
    # week [01-09 11:15, ...): + 01-09 11:15-12:00 = 2700 s up -> 8970 s; down 1830 s.
    check(EX_POLLS, EX_HOURS, EX_TZ, None,
          [("ex", 1770 * S, 6270 * S, 8970 * S, 1830 * S, 1830 * S, 1830 * S)])


# ---------------------------------------------------------------------------------------------
# Overnight rows (e <= s): the interval ends at wall time e on the NEXT day.
# ---------------------------------------------------------------------------------------------
def test_overnight_friday_into_saturday():
    # Fri (4) 22:00-02:00 UTC. 2023-01-20 is a Friday: open [01-20 22:00, 01-21 02:00).
    # polls: Fri 23:00 inactive, Sat 01:00 active (an observation: the Friday row runs into
    #   Saturday), Sat 02:00 inactive = closing time, NOT an observation (half-open), but it is
    #   the largest poll so now = Sat 02:00.
    # midpoint 23:00/01:00 = 00:00.
    # hour [01:00, 02:00): all up (60 min) — had the 02:00 poll counted, 01:30-02:00 would be down.
    # day [Fri 02:00, Sat 02:00): 22:00-00:00 down 2 h, 00:00-02:00 up 2 h.
    # week [Sat 01-14 02:00, ...): the 01-13 interval ends at 01-14 02:00 = window start; == day.
    polls = [
        ("night", utc(2023, 1, 20, 23), False),
        ("night", utc(2023, 1, 21, 1), True),
        ("night", utc(2023, 1, 21, 2), False),
    ]
    hours = [("night", 4, tod(22), tod(2))]
    check(polls, hours, [("night", "UTC")], None,
          [("night", 60 * M, 2 * H, 2 * H, 0, 2 * H, 2 * H)])


def test_overnight_sunday_into_monday_wraps_the_week():
    # Sun (6) 22:00-02:00 UTC. Sun 2023-01-22 22:00 -> Mon 01-23 02:00.
    # poll Mon 01:30 inactive (inside the Sunday row). as_of Mon 03:00.
    # hour [02:00, 03:00): closed -> 0, 0.
    # day [Sun 03:00, Mon 03:00): 22:00-02:00 = 4 h down.
    # week [Mon 01-16 03:00, ...): 01-15 22:00 -> 01-16 02:00 is before it; == day.
    polls = [("sun", utc(2023, 1, 23, 1, 30), False)]
    hours = [("sun", 6, tod(22), tod(2))]
    check(polls, hours, [("sun", "UTC")], utc(2023, 1, 23, 3),
          [("sun", 0, 0, 0, 0, 4 * H, 4 * H)])


# ---------------------------------------------------------------------------------------------
# end == start: one full day of wall time (24 h, or 23/25 h across a DST change).
# ---------------------------------------------------------------------------------------------
def test_end_equal_start_is_a_full_day():
    # Mon (0) 09:00-09:00 UTC: [Mon 09:00, Tue 09:00) = 24 h.
    # poll Mon 01-16 12:00 active; as_of Tue 01-17 12:00.
    # hour [Tue 11:00, 12:00): closed -> 0.
    # day [Mon 12:00, Tue 12:00): Mon 12:00 -> Tue 09:00 = 21 h up.
    # week [Tue 01-10 12:00, ...): the 01-09 interval ended 01-10 09:00; 01-16 09:00 -> 01-17 09:00
    #   = 24 h, all up (status extends back to the edge).
    polls = [("full", utc(2023, 1, 16, 12), True)]
    hours = [("full", 0, tod(9), tod(9))]
    check(polls, hours, [("full", "UTC")], utc(2023, 1, 17, 12),
          [("full", 0, 21 * H, 24 * H, 0, 0, 0)])


def test_end_equal_start_is_25_hours_when_clocks_fall_back():
    # America/New_York, Sat (5) 12:00-12:00. Sat 2023-11-04 12:00 EDT (UTC-4) = 16:00 UTC ->
    # Sun 11-05 12:00 EST (UTC-5) = 17:00 UTC: 25 h.
    # poll Sat 11-04 20:00 UTC active; as_of Sun 11-05 18:00 UTC.
    # hour [17:00, 18:00): closed -> 0.
    # day [11-04 18:00, 11-05 18:00): [18:00, next 17:00) = 23 h up.
    # week [10-29 18:00, ...): the previous Saturday's interval (10-28 16:00 -> 10-29 16:00 UTC,
    #   both EDT) is before it -> 25 h up.
    polls = [("fb", utc(2023, 11, 4, 20), True)]
    hours = [("fb", 5, tod(12), tod(12))]
    check(polls, hours, [("fb", "America/New_York")], utc(2023, 11, 5, 18),
          [("fb", 0, 23 * H, 25 * H, 0, 0, 0)])


def test_end_equal_start_is_23_hours_when_clocks_spring_forward():
    # America/New_York, Sat (5) 12:00-12:00. Sat 2023-03-11 12:00 EST (UTC-5) = 17:00 UTC ->
    # Sun 03-12 12:00 EDT (UTC-4) = 16:00 UTC: 23 h.
    # poll Sat 03-11 20:00 UTC inactive; as_of Sun 03-12 17:00 UTC.
    # hour [16:00, 17:00): closed -> 0.
    # day [03-11 17:00, 03-12 17:00): 23 h down.
    # week [03-05 17:00, ...): previous interval 03-04 17:00 -> 03-05 17:00 UTC ends at its start.
    polls = [("sf", utc(2023, 3, 11, 20), False)]
    hours = [("sf", 5, tod(12), tod(12))]
    check(polls, hours, [("sf", "America/New_York")], utc(2023, 3, 12, 17),
          [("sf", 0, 0, 0, 0, 23 * H, 23 * H)])


# ---------------------------------------------------------------------------------------------
# Several rows: merged when overlapping, gaps closed.
# ---------------------------------------------------------------------------------------------
def test_overlapping_rows_are_merged():
    # "ov": Mon 09-12, 11-14, 13:00-13:30 UTC -> [09:00, 14:00) = 5 h (not 3+3+0.5 = 6.5 h).
    #   poll Mon 01-16 10:00 active.
    # "wrap": Sun 20:00-02:00 and Mon 01:00-03:00 -> [Sun 20:00, Mon 03:00) = 7 h (not 6+2 = 8).
    #   poll Sun 01-15 21:00 inactive.
    # as_of Mon 01-16 15:00.
    # hour [14:00, 15:00): both closed -> 0.
    # day [Sun 15:00, Mon 15:00): ov up 5 h; wrap down 7 h.
    # week [01-09 15:00, ...): the previous week's intervals (Mon 01-09 09-14, Sun 01-08 20:00 ->
    #   01-09 03:00) are before it -> same as day.
    polls = [("ov", utc(2023, 1, 16, 10), True), ("wrap", utc(2023, 1, 15, 21), False)]
    hours = [
        ("ov", 0, tod(9), tod(12)),
        ("ov", 0, tod(11), tod(14)),
        ("ov", 0, tod(13), tod(13, 30)),
        ("wrap", 6, tod(20), tod(2)),
        ("wrap", 0, tod(1), tod(3)),
    ]
    tzs = [("ov", "UTC"), ("wrap", "UTC")]
    check(polls, hours, tzs, utc(2023, 1, 16, 15),
          [("ov", 0, 5 * H, 5 * H, 0, 0, 0), ("wrap", 0, 0, 0, 0, 7 * H, 7 * H)])


def test_several_rows_per_day_and_polls_outside_hours_do_not_count():
    # Mon 08-10 and 14-16 UTC. polls Mon 01-16: 09:00 active, 13:50 active (in the closed gap:
    # NOT an observation), 15:00 inactive. as_of Mon 16:00.
    # observations 09:00 up, 15:00 down: midpoint 12:00 lies in the gap.
    # hour [15:00, 16:00): down 60 min.
    # day: 08-10 up 2 h; 14-16 down 2 h. (Had 13:50 counted, 14:00-14:25 would be up.)
    # week [01-09 16:00, ...): previous Monday's 14-16 ends at the window start; == day.
    polls = [
        ("two", utc(2023, 1, 16, 9), True),
        ("two", utc(2023, 1, 16, 13, 50), True),
        ("two", utc(2023, 1, 16, 15), False),
    ]
    hours = [("two", 0, tod(8), tod(10)), ("two", 0, tod(14), tod(16))]
    check(polls, hours, [("two", "UTC")], utc(2023, 1, 16, 16),
          [("two", 0, 2 * H, 2 * H, 60 * M, 2 * H, 2 * H)])


def test_closed_days_and_store_without_observation():
    # Both open Mon 09-12 UTC only. as_of Wed 01-18 12:00.
    # "mon": poll Mon 01-16 10:00 active.
    #   hour [Wed 11:00, 12:00) closed -> 0; day [Tue 12:00, Wed 12:00) closed -> 0;
    #   week [Wed 01-11 12:00, ...): only Mon 01-16 09-12 = 3 h, up.
    # "tue": its only poll is Tue 01-17 10:00 (a closed day) -> no observation -> all zeros,
    #   though Monday's 3 h of business time are in its week; it still has a row.
    polls = [("mon", utc(2023, 1, 16, 10), True), ("tue", utc(2023, 1, 17, 10), True)]
    hours = [("mon", 0, tod(9), tod(12)), ("tue", 0, tod(9), tod(12))]
    tzs = [("mon", "UTC"), ("tue", "UTC")]
    check(polls, hours, tzs, utc(2023, 1, 18, 12),
          [("mon", 0, 0, 3 * H, 0, 0, 0), ("tue", 0, 0, 0, 0, 0, 0)])


# ---------------------------------------------------------------------------------------------
# DST days: wall times -> UTC with the rules of that date, fold=0.
# ---------------------------------------------------------------------------------------------
def test_us_spring_forward_day():
    # America/New_York, Sun 2023-03-12: 02:00 EST jumps to 03:00 EDT.
    # "ny1" Sun 01:00-04:00: 01:00 EST = 06:00 UTC, 04:00 EDT = 08:00 UTC -> 2 h (not 3 h).
    #   poll 06:30 UTC active -> day up 2 h.
    # "ny2" Sun 02:30-05:00: 02:30 does not exist; fold=0 takes the offset before the change
    #   (EST, -5) -> 07:30 UTC; 05:00 EDT = 09:00 UTC -> 1.5 h. poll 08:00 UTC inactive.
    # as_of 03-12 12:00 UTC. hour [11:00, 12:00) closed -> 0.
    # week [03-05 12:00, ...): Sun 03-05 (EST) intervals 06:00-09:00 / 07:30-10:00 UTC are before.
    polls = [("ny1", utc(2023, 3, 12, 6, 30), True), ("ny2", utc(2023, 3, 12, 8), False)]
    hours = [("ny1", 6, tod(1), tod(4)), ("ny2", 6, tod(2, 30), tod(5))]
    tzs = [("ny1", "America/New_York"), ("ny2", "America/New_York")]
    check(polls, hours, tzs, utc(2023, 3, 12, 12),
          [("ny1", 0, 2 * H, 2 * H, 0, 0, 0), ("ny2", 0, 0, 0, 0, 90 * M, 90 * M)])


def test_us_fall_back_day_ambiguous_hour_takes_first_occurrence():
    # America/New_York, Sun 2023-11-05: 02:00 EDT falls back to 01:00 EST; 01:xx happens twice.
    # "fb1" Sun 01:30-03:00: 01:30 fold=0 = first (EDT, -4) = 05:30 UTC; 03:00 EST = 08:00 UTC
    #   -> 2.5 h. poll 06:45 UTC (= 01:45 EST, the second 01:45) inactive -> day down 2.5 h.
    # "fb2" Sun 00:00-01:30: 00:00 EDT = 04:00 UTC; 01:30 fold=0 EDT = 05:30 UTC -> 1.5 h.
    #   poll 05:00 UTC (01:00 EDT) active is an observation; poll 06:00 UTC (01:00 EST, the second
    #   01:00) inactive is NOT (06:00 >= 05:30 UTC) although its wall time is inside 00:00-01:30.
    #   -> day up 1.5 h.
    # as_of 11-05 12:00 UTC. hour [11:00, 12:00) closed.
    # week [10-29 12:00, ...): Sun 10-29 (EDT) intervals 05:30-07:00 / 04:00-05:30 UTC are before.
    polls = [
        ("fb1", utc(2023, 11, 5, 6, 45), False),
        ("fb2", utc(2023, 11, 5, 5), True),
        ("fb2", utc(2023, 11, 5, 6), False),
    ]
    hours = [("fb1", 6, tod(1, 30), tod(3)), ("fb2", 6, tod(0), tod(1, 30))]
    tzs = [("fb1", "America/New_York"), ("fb2", "America/New_York")]
    check(polls, hours, tzs, utc(2023, 11, 5, 12),
          [("fb1", 0, 0, 0, 0, 150 * M, 150 * M), ("fb2", 0, 90 * M, 90 * M, 0, 0, 0)])


def test_european_spring_forward_day():
    # Europe/Berlin, Sun 2023-03-26: 02:00 CET (+1) jumps to 03:00 CEST (+2).
    # "be1" Sun 00:00-06:00: 00:00 CET = Sat 03-25 23:00 UTC; 06:00 CEST = 04:00 UTC -> 5 h.
    #   poll 02:00 UTC active.
    # "be2" Sun 02:30-04:00: 02:30 missing, fold=0 -> CET -> 01:30 UTC; 04:00 CEST = 02:00 UTC
    #   -> 30 min. poll 01:45 UTC inactive.
    # as_of 03-26 06:00 UTC. hour [05:00, 06:00) closed.
    # week [03-19 06:00, ...): Sun 03-19 (CET) intervals 03-18 23:00-03-19 05:00 and 01:30-03:00
    #   UTC are before it; == day.
    polls = [("be1", utc(2023, 3, 26, 2), True), ("be2", utc(2023, 3, 26, 1, 45), False)]
    hours = [("be1", 6, tod(0), tod(6)), ("be2", 6, tod(2, 30), tod(4))]
    tzs = [("be1", "Europe/Berlin"), ("be2", "Europe/Berlin")]
    check(polls, hours, tzs, utc(2023, 3, 26, 6),
          [("be1", 0, 5 * H, 5 * H, 0, 0, 0), ("be2", 0, 0, 0, 0, 30 * M, 30 * M)])


# ---------------------------------------------------------------------------------------------
# Observations: duplicates.
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("order", [0, 1])
def test_duplicate_timestamps_inactive_wins_in_any_order(order):
    # 24x7 stores (no hours rows). t = Mon 01-16 12:00, as_of t + 30 min.
    # "d1": active+inactive at t -> one inactive observation: hour 60 min down, day 24 h,
    #   week 168 h down. "d2": the same rows in the other order. "d3": active twice -> up.
    t = utc(2023, 1, 16, 12)
    polls = [("d1", t, True), ("d1", t, False), ("d2", t, False), ("d2", t, True),
             ("d3", t, True), ("d3", t, True)]
    if order:
        polls.reverse()
    check(polls, [], [], t + 30 * M,
          [("d1", 0, 0, 0, 60 * M, D, W), ("d2", 0, 0, 0, 60 * M, D, W),
           ("d3", 60 * M, D, W, 0, 0, 0)])


def test_duplicate_in_the_middle_splits_like_one_inactive_observation():
    # 24x7. t0 = Mon 01-16 10:00 active; t0+1h twice (active, inactive) -> inactive.
    # as_of t0 + 1h. midpoint t0+30min. hour [t0, t0+1h): up 30, down 30.
    # day: up 23.5 h, down 0.5 h; week: up 167.5 h, down 0.5 h.
    t0 = utc(2023, 1, 16, 10)
    polls = [("dm", t0 + H, True), ("dm", t0, True), ("dm", t0 + H, False)]
    check(polls, [], [], t0 + H,
          [("dm", 30 * M, D - 30 * M, W - 30 * M, 30 * M, 30 * M, 30 * M)])


# ---------------------------------------------------------------------------------------------
# Stores: one row for every store seen anywhere.
# ---------------------------------------------------------------------------------------------
def test_stores_known_only_from_hours_or_timezones_get_zeros():
    # "p" 24x7, one active poll at t = now: hour 60 min up, day 24 h, week 168 h (the status of
    # the only observation extends to both window edges). "h" (hours only) and "z" (zone only)
    # have no observation -> zeros, but a row each.
    t = utc(2023, 1, 16, 12)
    check([("p", t, True)], [("h", 0, tod(9), tod(12))], [("z", "UTC")], None,
          [("h", 0, 0, 0, 0, 0, 0), ("p", 60 * M, D, W, 0, 0, 0), ("z", 0, 0, 0, 0, 0, 0)])


def test_no_polls_at_all_gives_zero_rows_for_every_store():
    check([], [("h", 0, tod(9), tod(12))], [("z", "UTC")], None,
          [("h", 0, 0, 0, 0, 0, 0), ("z", 0, 0, 0, 0, 0, 0)])


def test_store_whose_only_polls_are_after_as_of_still_has_a_row():
    # Its poll row was accepted (the store was seen) but is ignored for the values.
    t = utc(2023, 1, 16, 12)
    check([("a", t, True), ("late", t + H, True)], [], [], t,
          [("a", 60 * M, D, W, 0, 0, 0), ("late", 0, 0, 0, 0, 0, 0)])


# ---------------------------------------------------------------------------------------------
# Zones: default America/Chicago; the last zone row wins.
# ---------------------------------------------------------------------------------------------
def test_default_timezone_is_america_chicago():
    # All open Mon 09-12 local; January offsets: Chicago CST -6 -> 15:00-18:00 UTC,
    # New York EST -5 -> 14:00-17:00 UTC, UTC -> 09:00-12:00 UTC.
    # poll Mon 01-16 15:30 UTC active for each; as_of 17:30 UTC.
    # "dflt" (no zone row) == "chi": hour [16:30, 17:30) all open -> 60 min up;
    #   day: 15:00-17:30 = 2.5 h up; week: previous Monday 15-18 UTC before 01-09 17:30? it ends
    #   18:00 > 17:30 -> 01-09 17:30-18:00 = 30 min also in the week, up -> 3 h.
    # "ny": hour [16:30, 17:00) = 30 min up; day 14:00-17:00 = 3 h up;
    #   week: 01-09 14-17 UTC ends before 17:30 -> 3 h.
    # "utc": 15:30 is outside 09-12 -> no observation -> zeros.
    t = utc(2023, 1, 16, 15, 30)
    polls = [(s, t, True) for s in ("dflt", "chi", "ny", "utc")]
    hours = [(s, 0, tod(9), tod(12)) for s in ("dflt", "chi", "ny", "utc")]
    tzs = [("chi", "America/Chicago"), ("ny", "America/New_York"), ("utc", "UTC")]
    check(polls, hours, tzs, utc(2023, 1, 16, 17, 30), [
        ("chi", 60 * M, 150 * M, 3 * H, 0, 0, 0),
        ("dflt", 60 * M, 150 * M, 3 * H, 0, 0, 0),
        ("ny", 30 * M, 3 * H, 3 * H, 0, 0, 0),
        ("utc", 0, 0, 0, 0, 0, 0),
    ])


def test_last_timezone_row_wins():
    # Mon 09-12 local; rows UTC then America/New_York -> New York (14:00-17:00 UTC).
    # poll 14:30 UTC active (closed in UTC, open in New York). as_of 18:00 UTC.
    # hour [17:00, 18:00) closed; day 3 h up; week: 01-09 14-17 before 01-09 18:00 -> 3 h.
    polls = [("s", utc(2023, 1, 16, 14, 30), True)]
    hours = [("s", 0, tod(9), tod(12))]
    tzs = [("s", "UTC"), ("s", "America/New_York")]
    check(polls, hours, tzs, utc(2023, 1, 16, 18), [("s", 0, 3 * H, 3 * H, 0, 0, 0)])


# ---------------------------------------------------------------------------------------------
# 24x7, now, as_of.
# ---------------------------------------------------------------------------------------------
def test_no_hours_rows_means_open_24x7():
    # "one": active at t; as_of t + 2h -> hour 60 min, day 24 h, week 168 h up.
    # "two": active at t - 3 d, inactive at t; midpoint t - 1.5 d = t - 36 h.
    #   hour, day down entirely; week [t + 2h - 168h, t + 2h): up until t - 36 h = 130 h,
    #   down (t + 2h) - (t - 36h) = 38 h.
    t = utc(2023, 1, 20, 12)
    polls = [("one", t, True), ("two", t - 3 * D, True), ("two", t, False)]
    check(polls, [], [("two", "Asia/Kolkata")], t + 2 * H,
          [("one", 60 * M, D, W, 0, 0, 0), ("two", 0, 0, 130 * H, 60 * M, D, 38 * H)])


def test_polls_after_as_of_are_ignored():
    # 24x7: T-1h active, T+10min inactive (after as_of = T: ignored).
    # hour [T-1h, T) all up 60 min; day 24 h; week 168 h.
    # (Had T+10min counted: midpoint T-25min -> 25 min down.)
    T = utc(2023, 1, 16, 12)
    check([("s", T - H, True), ("s", T + 10 * M, False)], [], [], T,
          [("s", 60 * M, D, W, 0, 0, 0)])


def test_poll_exactly_at_as_of_counts():
    # 24x7: T-1h active, T inactive; as_of = T. midpoint T-30min.
    # hour: up 30, down 30 min; day: up 23.5 h, down 0.5 h; week: up 167.5 h, down 0.5 h.
    T = utc(2023, 1, 16, 12)
    check([("s", T - H, True), ("s", T, False)], [], [], T,
          [("s", 30 * M, D - 30 * M, W - 30 * M, 30 * M, 30 * M, 30 * M)])


def test_as_of_after_the_last_poll_is_now():
    # 24x7: active at T; as_of T + 4 d 2 h: everything up, windows end at the as_of.
    # Store "b" open Mon 09-12 UTC with an active poll Mon 01-16 10:00: as_of Fri 01-20 12:00 ->
    # hour/day closed, week 3 h up. (now is as_of, not the last poll.)
    T = utc(2023, 1, 16, 10)
    check([("a", T, True), ("b", T, True)], [("b", 0, tod(9), tod(12))], [("b", "UTC")],
          T + 4 * D + 2 * H,
          [("a", 60 * M, D, W, 0, 0, 0), ("b", 0, 0, 3 * H, 0, 0, 0)])


def test_now_is_the_largest_poll_over_all_stores_even_outside_hours():
    # "a": open Mon 09:00-10:00 UTC; polls Mon 01-16 09:30 active, 10:45 inactive (outside
    #   hours: not an observation, but the largest poll -> now = 10:45).
    #   hour [09:45, 10:45): business 09:45-10:00 = 15 min up; day 1 h up;
    #   week [01-09 10:45, ...): 01-09 09-10 before it -> 1 h.
    # "b": 24x7, active at 10:00 -> with now = 10:45: hour 60, day 24 h, week 168 h up.
    polls = [("a", utc(2023, 1, 16, 9, 30), True), ("a", utc(2023, 1, 16, 10, 45), False),
             ("b", utc(2023, 1, 16, 10), True)]
    check(polls, [("a", 0, tod(9), tod(10))], [("a", "UTC")], None,
          [("a", 15 * M, H, H, 0, 0, 0), ("b", 60 * M, D, W, 0, 0, 0)])


def test_now_is_global_not_per_store():
    # "a" as above without its 10:45 poll (last poll 09:30); "b" 24x7 poll at 10:45 sets now.
    # a: hour [09:45, 10:45) -> 15 min up (with a per-store now of 09:30 it would be 30 min).
    polls = [("a", utc(2023, 1, 16, 9, 30), True), ("b", utc(2023, 1, 16, 10, 45), False)]
    check(polls, [("a", 0, tod(9), tod(10))], [("a", "UTC")], None,
          [("a", 15 * M, H, H, 0, 0, 0), ("b", 0, 0, 0, 60 * M, D, W)])


# ---------------------------------------------------------------------------------------------
# The 8-day horizon.
# ---------------------------------------------------------------------------------------------
def test_horizon_edge_observation_exactly_8_days_old_counts():
    # 24x7, now T = Fri 01-20 12:00 (store "n" polls at T).
    # "edge": T-8d active (exactly at the horizon: counts), T-2d inactive. midpoint T-5d.
    #   hour down 60; day down 24 h; week [T-7d, T): up T-7d..T-5d = 48 h, down 120 h.
    # "old": T-8d-1µs active (ignored), T-2d inactive -> week 168 h down.
    T = utc(2023, 1, 20, 12)
    polls = [
        ("edge", T - 8 * D, True), ("edge", T - 2 * D, False),
        ("old", T - 8 * D - 1, True), ("old", T - 2 * D, False),
        ("n", T, True),
    ]
    expected = [("edge", 0, 0, 48 * H, 60 * M, D, 120 * H), ("n", 60 * M, D, W, 0, 0, 0),
                ("old", 0, 0, 0, 60 * M, D, W)]
    check(polls, [], [], None, expected)
    check(polls, [], [], T, expected)  # the same relative to an explicit as_of


def test_only_observation_older_than_horizon_gives_zeros():
    # 24x7 "gone": one poll at T-8d-1µs; now T set by "n". No observation -> zeros.
    T = utc(2023, 1, 20, 12)
    check([("gone", T - 8 * D - 1, True), ("n", T, True)], [], [], None,
          [("gone", 0, 0, 0, 0, 0, 0), ("n", 60 * M, D, W, 0, 0, 0)])


# ---------------------------------------------------------------------------------------------
# Nearest observation: observations before the window, ties.
# ---------------------------------------------------------------------------------------------
def test_observations_before_the_window_count():
    # 24x7: T-90min active, T-20min inactive; as_of T. midpoint T-55min.
    # hour [T-60, T): up 5 min, down 55 min (ignoring the earlier one would give 60 down).
    # day: up 24 h - 55 min, down 55 min; week: up 168 h - 55 min, down 55 min.
    T = utc(2023, 1, 16, 12)
    check([("s", T - 90 * M, True), ("s", T - 20 * M, False)], [], [], T,
          [("s", 5 * M, D - 55 * M, W - 55 * M, 55 * M, 55 * M, 55 * M)])


def test_observation_on_an_earlier_business_day_covers_today():
    # Mon+Tue 09-12 UTC. poll Mon 01-16 10:00 inactive; as_of Tue 01-17 11:00.
    # hour [Tue 10:00, 11:00): down 60 (the only observation is yesterday's).
    # day [Mon 11:00, Tue 11:00): Mon 11-12 + Tue 09-11 = 3 h down.
    # week [Tue 01-10 11:00, ...): Tue 01-10 11-12 (1 h) + Mon 01-16 09-12 (3 h) + Tue 09-11 (2 h)
    #   = 6 h down.
    polls = [("s", utc(2023, 1, 16, 10), False)]
    hours = [("s", 0, tod(9), tod(12)), ("s", 1, tod(9), tod(12))]
    check(polls, hours, [("s", "UTC")], utc(2023, 1, 17, 11),
          [("s", 0, 0, 0, 60 * M, 3 * H, 6 * H)])


def test_tie_at_midpoint_goes_to_the_earlier_observation():
    obs = [(100, True), (200, False), (300, True)]
    assert oracle.status_at(obs, 150) is True  # tie: earlier (100, up)
    assert oracle.status_at(obs, 151) is False
    assert oracle.status_at(obs, 250) is False  # tie: earlier (200, down)
    assert oracle.status_at(obs, 251) is True
    assert oracle.status_at(obs, Fraction(299, 2)) is True
    assert oracle.status_at(obs, 0) is True and oracle.status_at(obs, 10**6) is True


def test_split_exactly_at_the_midpoint():
    # 24x7: T-60min active, T-1µs inactive; as_of T. midpoint T - 30 min - 0.5 µs.
    # hour: up 30 min - 0.5 µs, down 30 min + 0.5 µs (1 µs tolerance for the half microsecond).
    T = utc(2023, 1, 16, 12)
    half = Fraction(1, 2)
    check([("s", T - H, True), ("s", T - 1, False)], [], [], T,
          [("s", 30 * M - half, D - 30 * M - half, W - 30 * M - half,
            30 * M + half, 30 * M + half, 30 * M + half)], tol=1)


# ---------------------------------------------------------------------------------------------
# Output: rounding, header, sorting, ids.
# ---------------------------------------------------------------------------------------------
ROUNDING = [
    # (µs, unit, text)
    (300_000, M, "0.01"),          # 0.005 min exactly -> half up
    (299_999, M, "0.00"),          # 0.00499998 min
    (30 * S, M, "0.50"),           # 30 s
    (750 * S, M, "12.50"),         # 12.5 min
    (60 * M, M, "60.00"),
    (60_300_000, M, "1.01"),       # 1.005 min (a float would give 1.00)
    (0, M, "0.00"),
    (90 * M, H, "1.50"),           # 90 min
    (18 * S, H, "0.01"),           # 0.005 h exactly
    (18 * S - 1, H, "0.00"),
    (3_618 * S, H, "1.01"),        # 1.005 h
    (9_630 * S, H, "2.68"),        # 2.675 h (float round gives 2.67)
    (168 * H, H, "168.00"),
    (0, H, "0.00"),
]


@pytest.mark.parametrize(("us", "unit", "text"), ROUNDING)
def test_oracle_round_half_up(us, unit, text):
    assert oracle.oracle_round(us, unit) == text


def test_format_row_units_and_half_up():
    # hour columns in minutes, day/week in hours.
    row = ReportRow("r", 300_000, 18 * S, 90 * M, 30 * S, 18 * S - 1, 9_630 * S)
    expected = ["r", "0.01", "0.01", "1.50", "0.50", "0.00", "2.68"]
    assert format_row(row) == expected
    assert oracle.format_row(row) == expected
    row = ReportRow("s", 60_300_000, 3_618 * S, 0, 750 * S, 168 * H, 0)
    expected = ["s", "1.01", "1.01", "0.00", "12.50", "168.00", "0.00"]
    assert format_row(row) == expected
    assert oracle.format_row(row) == expected


def test_computed_value_of_exactly_half_a_hundredth_rounds_up():
    # A computed 0.005 min (300 000 µs) of uptime: 24x7, as_of T; T-600 000 µs inactive,
    # T active: midpoint T-300 000 µs -> hour up [T-300 000 µs, T) = 0.005 min -> "0.01";
    # down [T-1h, T-300 000 µs) = 59.995 min -> "60.00" (half up).
    T = utc(2023, 1, 16, 12)
    polls = [("s", T - 600_000, False), ("s", T, True)]
    rows = formatted(polls, [], [], T)
    assert rows[0][1] == "0.01" and rows[0][4] == "60.00"


def test_header_and_csv():
    assert HEADER == (
        "store_id,uptime_last_hour,uptime_last_day,uptime_last_week,"
        "downtime_last_hour,downtime_last_day,downtime_last_week"
    )
    assert oracle.HEADER == HEADER
    out = io.StringIO()
    write_csv([ReportRow("1", 30 * S, 90 * M, 0, 0, 0, 0)], out)
    assert out.getvalue().splitlines() == [
        "store_id,uptime_last_hour,uptime_last_day,uptime_last_week,"
        "downtime_last_hour,downtime_last_day,downtime_last_week",
        "1,0.50,1.50,0.00,0.00,0.00,0.00",
    ]


def test_rows_sorted_by_store_id_as_text_and_ids_kept_exactly():
    # "10" < "100" < "1234567890123456789" < "9" as text; digits sort before letters;
    # leading zeros and 19-digit ids (beyond float precision) survive unchanged.
    big = "1234567890123456789"  # float(big) would print 1.2345678901234568e+18
    ids = ["9", "10", "A", big, "007", "100", "a", "9223372036854775807"]
    t = utc(2023, 1, 16, 12)
    expected_order = ["007", "10", "100", big, "9", "9223372036854775807", "A", "a"]
    check([(s, t, True) for s in ids], [], [], None,
          [(s, 60 * M, D, W, 0, 0, 0) for s in expected_order])
    out = io.StringIO()
    write_csv(compute_report([(s, t, True) for s in ids], [], [], None), out)
    lines = out.getvalue().splitlines()
    assert lines[0] == HEADER
    assert [line.split(",")[0] for line in lines[1:]] == expected_order
    assert lines[4] == f"{big},60.00,24.00,168.00,0.00,0.00,0.00"


# ---------------------------------------------------------------------------------------------
# A few more edges of the same rules.
# ---------------------------------------------------------------------------------------------
def test_half_open_business_hours_opening_counts_closing_does_not():
    # Mon 09-12 UTC. polls Mon 01-16 09:00 inactive (at opening: an observation), 12:00 active
    # (at closing: not an observation). now = 12:00 (largest poll).
    # hour [11:00, 12:00) down 60; day 3 h down; week: 01-09 interval ends at 01-09 12:00 = start.
    polls = [("s", utc(2023, 1, 16, 9), False), ("s", utc(2023, 1, 16, 12), True)]
    check(polls, [("s", 0, tod(9), tod(12))], [("s", "UTC")], None,
          [("s", 0, 0, 0, 60 * M, 3 * H, 3 * H)])


def test_23_59_59_is_taken_literally():
    # Mon 00:00-23:59:59 UTC: [Mon 00:00, Mon 23:59:59) = 86 399 s, not a full day.
    # poll Mon 01-16 12:00 active; as_of Tue 01-17 00:00.
    # hour [23:00, 24:00): 23:00-23:59:59 = 3599 s up (59.98 min); day 86 399 s up;
    # week [01-10 00:00, ...): Mon 01-09 is before it -> 86 399 s.
    polls = [("s", utc(2023, 1, 16, 12), True)]
    check(polls, [("s", 0, tod(0), tod(23, 59, 59))], [("s", "UTC")], utc(2023, 1, 17),
          [("s", 3599 * S, 86_399 * S, 86_399 * S, 0, 0, 0)])
    # 3599/60 = 59.9833 -> 59.98 ; 86399/3600 = 23.99972 -> 24.00
    assert formatted(polls, [("s", 0, tod(0), tod(23, 59, 59))], [("s", "UTC")],
                     utc(2023, 1, 17)) == [["s", "59.98", "24.00", "24.00", "0.00", "0.00", "0.00"]]


def test_row_entirely_inside_the_spring_forward_gap_is_empty():
    # Europe/Berlin Sun 2023-03-26 02:00-03:00 local: 02:00 does not exist, fold=0 -> CET (+1)
    # -> 01:00 UTC; 03:00 CEST (+2) -> 01:00 UTC: [01:00, 01:00) is empty, so a poll at 01:00 UTC
    # is not an observation -> zeros. "b" has the same row plus Sun 04:00-05:00 CEST
    # (02:00-03:00 UTC): poll 01:00 UTC not an observation, 02:30 UTC active is -> 1 h up.
    # as_of 03-26 06:00 UTC. Previous Sunday 03-19 (CET): 01:00-02:00 and 03:00-04:00 UTC, before
    # the week's start 03-19 06:00.
    polls = [("a", utc(2023, 3, 26, 1), True), ("b", utc(2023, 3, 26, 1), False),
             ("b", utc(2023, 3, 26, 2, 30), True)]
    hours = [("a", 6, tod(2), tod(3)), ("b", 6, tod(2), tod(3)), ("b", 6, tod(4), tod(5))]
    tzs = [("a", "Europe/Berlin"), ("b", "Europe/Berlin")]
    check(polls, hours, tzs, utc(2023, 3, 26, 6),
          [("a", 0, 0, 0, 0, 0, 0), ("b", 0, H, H, 0, 0, 0)])


def test_microsecond_timestamps_and_odd_midpoint():
    # 24x7: obs at T - 3 599 999 999 µs active and T - 1 µs inactive;
    # as_of T. midpoint = T - (3 599 999 999 + 1)/2 = T - 1 800 000 000 µs exactly (30 min).
    # hour: up [T-1h, T-30min) = 30 min; down 30 min.
    T = utc(2023, 1, 16, 12)
    polls = [("s", T - 3_599_999_999, True), ("s", T - 1, False)]
    check(polls, [], [], T, [("s", 30 * M, D - 30 * M, W - 30 * M, 30 * M, 30 * M, 30 * M)])


def test_business_intervals_merged_clipped_half_open():
    mon = utc(2023, 1, 16)  # Monday 00:00 UTC
    for impl in (business_intervals, oracle.business_intervals):
        # overlapping rows 09-12, 11-14, 13:00-13:30 -> one interval [09:00, 14:00)
        rows = [(0, tod(9), tod(12)), (0, tod(11), tod(14)), (0, tod(13), tod(13, 30))]
        assert impl(rows, "UTC", mon, mon + D) == [(mon + 9 * H, mon + 14 * H)]
        # clipped to the range
        assert impl(rows, "UTC", mon + 10 * H, mon + 13 * H) == [(mon + 10 * H, mon + 13 * H)]
        # touching rows 09-12 and 12-14: together cover [09:00, 14:00) with no overlap
        got = impl([(0, tod(9), tod(12)), (0, tod(12), tod(14))], "UTC", mon, mon + D)
        assert got[0][0] == mon + 9 * H and got[-1][1] == mon + 14 * H
        assert sum(e - s for s, e in got) == 5 * H
        # None: 24x7, the whole range
        assert impl(None, "America/Chicago", mon + 1, mon + 5 * D) == [(mon + 1, mon + 5 * D)]
        # America/Chicago (CST, -6) Mon 09-12 -> 15:00-18:00 UTC, in a range of two Mondays
        assert impl([(0, tod(9), tod(12))], "America/Chicago", mon - 7 * D, mon + D) == [
            (mon - 7 * D + 15 * H, mon - 7 * D + 18 * H), (mon + 15 * H, mon + 18 * H)]
        # overnight Sun 22:00-02:00 UTC, range = Monday only: the tail [00:00, 02:00)
        assert impl([(6, tod(22), tod(2))], "UTC", mon, mon + D) == [(mon, mon + 2 * H)]
