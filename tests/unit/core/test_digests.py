"""Digests (core/digests.py): when one is due on the owner's clock (properties across DST),
and that its numbers are the report's numbers at the digest's time."""

from __future__ import annotations

import csv
import io
import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from streamproc.core.channels import Audience
from streamproc.core.digests import (
    DAILY,
    WEEKLY,
    digest_csv,
    digest_payload,
    digest_rows,
    digest_text,
    due,
    latest_slot,
    wall_to_utc,
)
from streamproc.core.hours import zone
from streamproc.core.records import US_PER_DAY, US_PER_MINUTE, US_PER_SECOND
from streamproc.core.report_rows import build_states, compute_report, report_rows, write_csv
from tests.support.stream import T0, synthetic

ZONES = ("America/New_York", "Europe/Berlin", "Asia/Kolkata", "UTC", "Australia/Lord_Howe")
NOW = st.integers(1_678_000_000_000_000, 1_700_000_000_000_000)  # 2023, two DST changes
TOD = st.integers(0, 24 * 60 - 1).map(lambda m: m * US_PER_MINUTE)


def _local(ts_us: int, tz: str) -> datetime:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=ts_us)).astimezone(
        zone(tz))


def _shows(ts_us: int, tz: str, tod_us: int) -> bool:
    local = _local(ts_us, tz)
    return (local.hour * 60 + local.minute) * US_PER_MINUTE == tod_us


@given(NOW, st.sampled_from(ZONES), TOD, st.one_of(st.none(), st.integers(0, 6)))
def test_the_latest_slot_is_the_last_time_the_clock_showed_it(now, tz, tod, weekday) -> None:
    slot = latest_slot(now, tz, tod, weekday)
    assert slot <= now
    local = _local(slot, tz)
    if weekday is not None:
        assert local.weekday() == weekday or not _shows(slot, tz, tod)  # a DST gap moves it
    day = local.date()
    next_day = day + timedelta(days=7 if weekday is not None else 1)
    later = wall_to_utc(next_day, tod, tz)
    assert later > now, "no later slot has passed yet"
    if _shows(slot, tz, tod):
        return
    # only a local time that does not exist that day (a DST gap) may land elsewhere: the
    # clock jumped over it within the hour before
    before = _local(slot - 3600 * US_PER_SECOND, tz)
    assert before.utcoffset() != local.utcoffset(), (slot, local)


@given(NOW, TOD, st.sampled_from(ZONES))
def test_a_digest_is_due_once_per_slot(now, tod, tz) -> None:
    audience = Audience("a", timezone=tz, digest_daily_us=tod, digest_weekly=(0, tod))
    slot = due(audience, DAILY, now, None)
    assert slot == latest_slot(now, tz, tod)
    assert due(audience, DAILY, now, slot) is None, "sent: not again"
    assert due(audience, DAILY, now + US_PER_DAY, slot) == latest_slot(now + US_PER_DAY, tz,
                                                                        tod)
    assert due(Audience("b"), DAILY, now, None) is None, "not asked for"
    assert _local(due(audience, WEEKLY, now, None), tz).weekday() in (0, 1)


def test_the_digest_numbers_are_the_reports_numbers_at_its_time() -> None:
    polls, hours, zones = synthetic(7, stores=12, days=9)
    as_of = T0 + 8 * US_PER_DAY + 8 * 3600 * US_PER_SECOND
    states, now = build_states(polls, hours, zones, as_of)
    rows = report_rows(states, now, figures=True)
    mine = frozenset(random.Random(1).sample(sorted(states), 6))
    for kind, up_col, down_col, outages_col in (
            (DAILY, "uptime_last_day", "downtime_last_day", "outages_last_day"),
            (WEEKLY, "uptime_last_week", "downtime_last_week", "outages_last_week")):
        digest = digest_rows(rows, kind, mine, {})
        attached = {r["store_id"]: r for r in csv.DictReader(io.StringIO(digest_csv(digest)))}
        buf = io.StringIO()
        write_csv(compute_report(polls, hours, zones, as_of), buf)
        report = {r["store_id"]: r for r in csv.DictReader(io.StringIO(buf.getvalue()))}
        assert set(attached) == mine
        for store_id, row in attached.items():
            assert row["uptime_hours"] == report[store_id][up_col]
            assert row["downtime_hours"] == report[store_id][down_col]
        full = {r.store_id: r for r in rows}
        assert all(int(attached[s]["outages"]) == getattr(full[s], outages_col) for s in mine)


def test_change_worst_and_text_against_the_previous_digest() -> None:
    polls, hours, zones = synthetic(3, stores=8, days=9)
    states, now = build_states(polls, hours, zones, T0 + 8 * US_PER_DAY)
    rows = report_rows(states, now, figures=True)
    first = digest_rows(rows, DAILY, None, {})
    previous = {r.store_id: 50.0 for r in first}
    second = digest_rows(rows, DAILY, None, previous)
    with_pct = [r for r in second if r.pct is not None]
    assert with_pct and all(r.change == round(r.pct - 50.0, 2) for r in with_pct)
    payload = digest_payload("alice", DAILY, now, second, 50.0)
    assert payload["worst"][0]["uptime_percent"] == min(r.pct for r in with_pct)
    assert payload["change_points"] == round(payload["uptime_percent"] - 50.0, 2)
    title, body = digest_text(payload)
    assert title.startswith("Daily uptime digest") and "points" in body
    assert payload["worst"][0]["store_id"] in body
