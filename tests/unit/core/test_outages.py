"""Outage rules: which status changes are events, which events are alerts (pure)."""

from __future__ import annotations

from streamproc.core.outages import (
    AlertRecord,
    SustainedTracker,
    backoff_delays,
    decide_alert,
    status_event,
)
from streamproc.core.records import US_PER_MINUTE

M = US_PER_MINUTE
T = 1_700_000_000_000_000


def bt(x: int, y: int) -> int:  # 24x7 business time
    return max(y - x, 0)


def ev(before, after, outage_since=None, now=T + 100 * M):
    return status_event("s1", before, after, now, outage_since, bt)


def test_first_active_observation_is_not_an_event():
    assert ev(None, (T, True)) is None


def test_first_inactive_observation_is_a_down_event():
    e = ev(None, (T, False))
    assert e["kind"] == "down" and e["first"] is True and e["status"] == "inactive"


def test_same_status_is_not_an_event():
    assert ev((T, True), (T + M, True)) is None
    assert ev((T, False), (T + M, False)) is None


def test_flips():
    down = ev((T, True), (T + M, False))
    assert down["kind"] == "down" and down["since_us"] == T + M and down["first"] is False
    up = ev((T + M, False), (T + 61 * M, True), outage_since=T + M)
    assert up["kind"] == "up" and up["status"] == "active"
    assert up["outage_since_us"] == T + M and up["down_business_s"] == 3600.0


def test_duplicate_that_downgrades_is_a_down_event():
    assert ev((T, True), (T, False))["kind"] == "down"


def test_no_observation_after_is_not_an_event():
    assert ev((T, True), None) is None


def test_sustained_once_per_outage():
    tr = SustainedTracker(30 * M)
    assert tr.check("s", (T, False), T + 29 * M, bt) is None
    e = tr.check("s", (T, False), T + 30 * M, bt)
    assert e["kind"] == "sustained" and e["down_business_s"] == 1800.0
    assert tr.check("s", (T, False), T + 90 * M, bt) is None
    assert tr.check("s", (T + 100 * M, True), T + 100 * M, bt) is None
    assert tr.check("s", (T + 200 * M, False), T + 240 * M, bt)["since_us"] == T + 200 * M


def test_sustained_counts_business_time_only():
    tr = SustainedTracker(30 * M)
    assert tr.check("s", (T, False), T + 600 * M, lambda x, y: 10 * M) is None


def sustained(since, now):
    return {"kind": "sustained", "store_id": "s", "since_us": since,
            "since": "x", "watermark": "w", "down_business_s": (now - since) / 1e6}


def up(at, outage_since):
    return {"kind": "up", "store_id": "s", "since_us": at, "since": "y", "watermark": "w",
            "outage_since_us": outage_since, "down_business_s": (at - outage_since) / 1e6}


def test_alert_once_per_outage_and_once_per_recovery():
    payload, rec = decide_alert(None, sustained(T, T + 30 * M))
    assert payload["type"] == "outage" and payload["alert_id"] == f"s:{T}:outage"
    assert payload["down_business_minutes"] == 30.0
    again, rec2 = decide_alert(rec, sustained(T, T + 30 * M))  # redelivered / rescanned
    assert again is None and rec2 == rec
    rec_payload, rec3 = decide_alert(rec, up(T + 50 * M, T))
    assert rec_payload["type"] == "recovery" and rec_payload["down_business_minutes"] == 50.0
    assert decide_alert(rec3, up(T + 50 * M, T))[0] is None  # recovery only once
    assert decide_alert(rec3, sustained(T, T + 40 * M))[0] is None  # stale outage event
    new, _ = decide_alert(rec3, sustained(T + 60 * M, T + 95 * M))
    assert new["type"] == "outage"


def test_short_outage_recovery_is_not_alerted():
    assert decide_alert(None, up(T + 10 * M, T)) == (None, None)
    assert decide_alert(None, {"kind": "down", "store_id": "s"}) == (None, None)


def test_alert_record_round_trip():
    rec = AlertRecord(T, T + M)
    assert AlertRecord.from_json(rec.to_json()) == rec
    assert AlertRecord.from_json(None) is None


def test_backoff():
    assert backoff_delays(1) == []
    assert backoff_delays(5, first=1, cap=4) == [1, 2, 4, 4]
