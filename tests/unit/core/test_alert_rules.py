"""Alert rules that know a store's hours (core/alert_rules.py), as properties over random
weekly hours, zones with daylight saving, special closed dates and polls: outages page once
and only while open; "did not open" pages once per opening that was not seen active; quiet
windows and mutes against an independent reading of local time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamproc.core.alert_rules import (
    OPENING_LOOKBACK_US,
    OpeningTracker,
    decide_no_open,
    in_quiet_window,
    latest_opening,
    silence_reason,
)
from streamproc.core.channels import Audience, QuietWindow, Silence
from streamproc.core.hours import CLOSED, zone
from streamproc.core.outages import SustainedTracker
from streamproc.core.records import US_PER_DAY, US_PER_HOUR, US_PER_MINUTE
from streamproc.core.state import StoreState

START = 1_678_406_400_000_000  # 2023-03-10T00:00:00Z: a US DST change (03-12) inside the runs
ZONES = ("America/New_York", "Europe/Berlin", "Asia/Kolkata", "UTC", "Australia/Lord_Howe")
STEP = 5 * US_PER_MINUTE  # the scans in these runs happen every 5 minutes
SLOW = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@st.composite
def stores(draw) -> StoreState:
    """A store with weekly hours (some overnight, some days closed), a zone, maybe a special
    closed date, and polls every 20-70 minutes over three days with random statuses."""
    state = StoreState("s")
    rows = []
    for day in range(7):
        if draw(st.booleans()) or day == 0:
            start = draw(st.integers(5 * 4, 14 * 4)) * 15 * US_PER_MINUTE
            length = draw(st.integers(2 * 4, 16 * 4)) * 15 * US_PER_MINUTE
            rows.append((day, start, (start + length) % US_PER_DAY))
    state.set_hours(rows)
    state.set_timezone(draw(st.sampled_from(ZONES)))
    if draw(st.booleans()):
        closed = START // US_PER_DAY + draw(st.integers(0, 3))
        state.set_special([(closed, CLOSED, CLOSED)])
    t, polls = START, []
    up_bias = draw(st.floats(0.2, 0.95))
    rng = draw(st.randoms(use_true_random=False))
    while t < START + 3 * US_PER_DAY:
        t += draw(st.integers(20, 70)) * US_PER_MINUTE
        polls.append((t, rng.random() < up_bias))
    state.add_polls(polls)
    return state


def _scan_times():
    return range(START + US_PER_HOUR, START + 3 * US_PER_DAY, STEP)


def _jumps(steps: list[int]) -> list[int]:
    """Scan times that jump like a worker's watermark in a replay (minutes to hours)."""
    t, out = START + US_PER_HOUR, []
    for k in steps:
        t += k * US_PER_MINUTE
        out.append(t)
    return out


# -- outages ------------------------------------------------------------------------------------


@SLOW
@given(stores(), st.integers(5, 120), st.lists(st.integers(1, 180), min_size=20, max_size=80))
def test_an_outage_pages_once_only_while_open_after_n_business_minutes(
        state: StoreState, threshold_min: int, steps: list[int]) -> None:
    threshold = threshold_min * US_PER_MINUTE
    tracker = SustainedTracker(threshold)
    pages: dict[int, list[int]] = {}  # outage since -> the scan times it paged at
    due: set[int] = set()  # outages that were open and past the threshold at some scan
    for now in _jumps(steps):
        run = state.status_since(now)
        event = tracker.check("s", run, now, state.business_time, state.is_open(now))
        if run is not None and not run[1] and state.is_open(now) and \
                state.business_time(run[0], now) >= threshold:
            due.add(run[0])
        if event is not None:
            pages.setdefault(event["since_us"], []).append(now)
            assert state.is_open(now), "never pages while closed (or on a closed date)"
            assert state.business_time(event["since_us"], now) >= threshold
            assert event["down_business_s"] * 1e6 >= threshold
    assert all(len(times) == 1 for times in pages.values()), pages
    assert set(pages) == due, "every outage due pages, and nothing else"


# -- did not open ---------------------------------------------------------------------------------


def _openings(state: StoreState, lo: int, hi: int) -> list[int]:
    """Instants in (lo, hi] where the store opens, found minute by minute (independent of
    the business intervals' merge)."""
    out = []
    was_open = state.is_open(lo)
    for t in range(lo + US_PER_MINUTE, hi + 1, US_PER_MINUTE):
        now_open = state.is_open(t)
        if now_open and not was_open:
            out.append(t)
        was_open = now_open
    return out


@SLOW
@given(stores(), st.integers(10, 120))
def test_did_not_open_pages_once_per_opening_not_seen_active(
        state: StoreState, grace_min: int) -> None:
    grace = grace_min * US_PER_MINUTE
    tracker = OpeningTracker(grace)
    events = []
    for now in _scan_times():
        lo = now - OPENING_LOOKBACK_US
        event = tracker.check("s", state.business_pieces(lo, now + 1), lo, now,
                              state.is_open(now), state.observations)
        if event is not None:
            events.append(event)
    openings = [e["opening_us"] for e in events]
    assert len(openings) == len(set(openings)), "once per opening"
    for e in events:
        opening, now = e["opening_us"], e["watermark_us"]
        assert state.is_open(opening) and not state.is_open(opening - 1), "a real opening"
        assert now >= opening + grace and state.is_open(now)
        assert not any(up for _, up in state.observations(opening, now)), "never seen active"
    # every opening (on whole minutes, as the hours are) whose grace ends at a scan while
    # the store is still open and has not been seen active pages
    found = _openings(state, START + US_PER_HOUR - OPENING_LOOKBACK_US, START + 3 * US_PER_DAY)
    for opening in found:
        first_scan = next((t for t in _scan_times() if t >= opening + grace), None)
        if first_scan is None or opening <= START + US_PER_HOUR - OPENING_LOOKBACK_US:
            continue
        lo = first_scan - OPENING_LOOKBACK_US
        if latest_opening(state.business_pieces(lo, first_scan + 1), lo, first_scan) != opening:
            continue  # the store closed and opened again before the grace ended
        if state.is_open(first_scan) and not any(
                up for _, up in state.observations(opening, first_scan)):
            assert opening in openings, (opening, first_scan)


def test_a_store_open_around_the_clock_never_opens() -> None:
    state = StoreState("s")  # no hours: 24x7
    lo = START
    assert latest_opening(state.business_pieces(lo, lo + 3 * US_PER_DAY), lo,
                          lo + 3 * US_PER_DAY) is None


def test_a_replayed_did_not_open_is_dropped() -> None:
    event = {"store_id": "s", "opening_us": 10, "opening": "a", "watermark": "b"}
    payload, remembered = decide_no_open(None, event)
    assert payload["alert_id"] == "s:10:did-not-open" and remembered == 10
    assert decide_no_open(10, event) == (None, 10)
    later = dict(event, opening_us=20)
    assert decide_no_open(10, later)[1] == 20


# -- silence -------------------------------------------------------------------------------------


def _minutes_of_week(window: QuietWindow) -> set[int]:
    """The window as a set of minutes of the local week, built from its occurrences."""
    start = window.start_us // US_PER_MINUTE
    end = window.end_us // US_PER_MINUTE
    length = end - start if end > start else end + 24 * 60 - start
    return {(day * 24 * 60 + start + k) % (7 * 24 * 60)
            for day in window.days for k in range(length)}


@given(st.frozensets(st.integers(0, 6), min_size=1), st.integers(0, 24 * 4 - 1),
       st.integers(0, 24 * 4 - 1), st.integers(0, 6), st.integers(-2, 24 * 60 - 1),
       st.sampled_from(("start", "end", "any")))
def test_a_quiet_window_holds_exactly_its_minutes(days, start_q, end_q, day, offset,
                                                  near) -> None:
    window = QuietWindow(days, start_q * 15 * US_PER_MINUTE, end_q * 15 * US_PER_MINUTE)
    base = {"start": start_q * 15, "end": end_q * 15, "any": 0}[near]
    minute = (day * 24 * 60 + base + (offset if near == "any" else offset % 3 - 1)) % (
        7 * 24 * 60)  # near a window's edge (one minute either side) or anywhere
    weekday, tod = divmod(minute, 24 * 60)
    assert in_quiet_window(window, weekday, tod * US_PER_MINUTE) == \
        (minute in _minutes_of_week(window))


@given(st.integers(START, START + 30 * US_PER_DAY), st.sampled_from(ZONES),
       st.sampled_from(ZONES))
def test_quiet_hours_follow_the_audience_zone_else_the_store_zone(
        at: int, own_zone: str, store_zone: str) -> None:
    night = Silence(quiet=(QuietWindow(frozenset(range(7)), 22 * US_PER_HOUR,
                                       7 * US_PER_HOUR),))
    for audience, tz in ((Audience("a", silence=night), store_zone),
                         (Audience("a", timezone=own_zone, silence=night), own_zone)):
        local = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=at)).astimezone(
            zone(tz))
        expected = local.hour >= 22 or local.hour < 7
        assert (silence_reason(audience, "s", at, store_zone) is not None) == expected


@given(st.integers(0, 10**16), st.integers(0, 10**16), st.booleans())
def test_a_mute_silences_until_its_time_store_first(at: int, until: int, per_store) -> None:
    silence = Silence(mute_until_us=until)
    audience = (Audience("a", store_silence={"s": silence}) if per_store
                else Audience("a", silence=silence))
    reason = silence_reason(audience, "s", at, None)
    assert (reason is not None) == (at < until)
    if reason:
        assert reason.startswith("store" if per_store else "owner")
    assert silence_reason(audience, "other", at, None) == (reason if not per_store else None)
