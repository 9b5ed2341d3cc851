"""The store page's data (web/store_detail.py): the figures are the optional report columns
as the CSV prints them, and the week adds up to the report's week."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from streamproc.core.records import US_PER_DAY, US_PER_HOUR, US_PER_MINUTE
from streamproc.core.report_rows import OPTIONAL_COLUMNS, report_rows, write_csv
from streamproc.core.state import StoreState
from streamproc.web.store_detail import detail_json, hours_json

NOW = 1_674_000_000_000_000


def _state(polls, hours=None, tz="America/Chicago") -> StoreState:
    state = StoreState("42")
    state.set_timezone(tz)
    state.set_hours(hours)
    state.add_polls(polls)
    return state


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(-9 * 24 * 60, 0), st.booleans()), max_size=30),
       st.booleans())
def test_figures_are_the_optional_columns_as_printed(polls, with_hours):
    hours = [(d, 9 * US_PER_HOUR, 21 * US_PER_HOUR) for d in range(5)] if with_hours else None
    state = _state([(NOW + m * US_PER_MINUTE + 17, up) for m, up in polls], hours)
    doc = detail_json(state, NOW, week=True)
    buf = io.StringIO()
    write_csv(report_rows({"42": state}, NOW, figures=True), buf, tuple(OPTIONAL_COLUMNS))
    printed = buf.getvalue().splitlines()[1].split(",")[7:]
    assert [str(doc["figures"][c]) if c.startswith(("obs", "outages")) else
            f"{doc['figures'][c]:.2f}" for c in OPTIONAL_COLUMNS] == printed
    week = doc["week"]
    up_us = sum(e - s for s, e, kind in week["segments"] if kind == "up")
    assert up_us == state.values(NOW)[2]
    assert len(week["outages"]) == doc["figures"]["outages_last_week"]
    assert all(d["midnight_us"] <= d["start_us"] < d["end_us"] <= d["next_midnight_us"]
               for d in week["days"])
    assert week["days"][0]["start_us"] == NOW - 7 * US_PER_DAY and week["days"][-1]["end_us"] == NOW


def test_hours_as_wall_times_and_no_week_without_asking():
    state = _state([(NOW, True)], [(4, 18 * US_PER_HOUR, 2 * US_PER_HOUR)])
    assert hours_json(state.hours) == [{"day": 4, "day_name": "Friday", "start": "18:00:00",
                                        "end": "02:00:00", "overnight": True}]
    assert hours_json(None) is None
    assert "week" not in detail_json(state, NOW, week=False)
    assert "week" not in detail_json(state, None, week=True)


def test_special_hours_are_shown_as_local_dates_and_wall_times():
    from streamproc.core.hours import CLOSED
    from streamproc.core.state import StoreState
    from streamproc.core.timeparse import parse_local_date
    from streamproc.web.store_detail import detail_json

    state = StoreState("s")
    christmas, eve = parse_local_date("2026-12-25"), parse_local_date("2026-12-31")
    state.set_special([(christmas, CLOSED, CLOSED), (eve, 18 * 3600 * 10**6, 2 * 3600 * 10**6)])
    assert detail_json(state, None, False)["special_hours"] == [
        {"date": "2026-12-25", "start": None, "end": None},
        {"date": "2026-12-31", "start": "18:00:00", "end": "02:00:00"}]
    assert detail_json(StoreState("t"), None, False)["special_hours"] == []
