"""Bodies of POST /events: NDJSON and the three CSV files, line by line."""

from __future__ import annotations

import json

import pytest

from streamproc.core.event_bodies import BodyError, decode_body, decode_csv, decode_ndjson
from streamproc.core.events import HoursEvent, PollEvent, TimezoneEvent, decode_event
from streamproc.core.records import Rejection
from streamproc.core.wire import MAX_HOURS_ROWS
from streamproc.csvfiles import iter_polls

POLL = {"type": "poll", "store_id": "s1", "status": "active",
        "timestamp_utc": "2023-01-25 18:00:00 UTC"}


def test_ndjson_keeps_good_lines_and_names_bad_ones_by_line_number():
    lines = [json.dumps(POLL), "", "not json", json.dumps({**POLL, "status": "on"}),
             json.dumps({"type": "timezone", "store_id": "s1", "timezone_str": "Asia/Tokyo"})]
    batch = decode_ndjson("\r\n".join(lines).encode())
    assert batch.events == [decode_event(json.dumps(POLL).encode()),
                            TimezoneEvent("s1", "Asia/Tokyo")]
    assert [(r.line, r.reason.split(":")[0]) for r in batch.rejections] == [
        (3, "value is not JSON"), (4, "poll")]
    assert batch.rejections[1].reason == decode_event(lines[3].encode())


def test_a_poll_csv_gives_the_same_polls_as_the_csv_parser():
    text = ("store_id,status,timestamp_utc\n"
            "s1,active,2023-01-25 18:00:00.123456 UTC\n"
            "s2,INACTIVE,2023-01-25T12:00:00-06:00\n"
            "s3,active,2023-02-30 00:00:00 UTC\n")
    batch = decode_body(text.encode(), "text/csv")
    expected = [r for r in iter_polls(text.splitlines()) if not isinstance(r, Rejection)]
    assert batch.events == [PollEvent(*p) for p in expected]
    assert len(batch.events) == 2
    [bad] = batch.rejections
    assert bad.line == 4 and "timestamp_utc" in bad.reason


def test_an_hours_csv_is_one_whole_set_per_store_without_its_bad_rows():
    text = ("store_id,day,start_time_local,end_time_local\n"
            "a,0,09:00:00,17:00:00\nb,1,10:00:00,11:00:00\na,2,22:00:00,02:00:00\n"
            "a,9,09:00:00,10:00:00\n")
    batch = decode_csv(text.encode())
    assert [e.store_id for e in batch.events] == ["a", "b"]
    assert isinstance(batch.events[0], HoursEvent) and len(batch.events[0].rows) == 2
    assert [r.line for r in batch.rejections] == [5]


def test_a_store_with_too_many_hours_rows_is_rejected_whole():
    rows = "".join(f"x,{i % 7},00:00:00,00:01:00\n" for i in range(MAX_HOURS_ROWS + 1))
    batch = decode_csv(b"store_id,day,start_time_local,end_time_local\n" + rows.encode())
    assert batch.events == []
    assert "at most" in batch.rejections[0].reason


def test_timezone_csv_and_dayofweek_header_alias():
    zones = decode_csv(b"store_id,timezone_str\nz,Europe/Berlin\n")
    assert zones.events == [TimezoneEvent("z", "Europe/Berlin")]
    hours = decode_csv(b"store_id,dayOfWeek,start_time_local,end_time_local\nh,6,1:00,2:00\n")
    assert [e.store_id for e in hours.events] == ["h"]


def test_a_csv_of_unknown_header_is_one_rejected_line():
    batch = decode_body(b"a,b\n1,2\n", "text/csv")
    assert batch.events == []
    [bad] = batch.rejections
    assert bad.line == 1 and "none of" in bad.reason


def test_blank_lines_are_no_events_and_no_rejections():
    assert decode_body(b"  \n\r\n", "") == ([], [])


def test_empty_bodies_hold_no_events():
    for media in ("application/x-ndjson", "text/csv"):
        assert decode_body(b"", media) == ([], [])


def test_a_json_body_is_one_event_or_an_array_of_them():
    one = decode_body(json.dumps(POLL).encode(), "application/json")
    assert one.events == decode_ndjson(json.dumps(POLL).encode()).events
    many = decode_body(json.dumps([POLL, 7, {**POLL, "store_id": "-x"}]).encode(),
                       "application/json")
    assert many.events == one.events
    assert [(r.line, r.reason[:20]) for r in many.rejections] == [
        (2, "value must be a JSON"), (3, "poll: store_id '-x' ")]


@pytest.mark.parametrize(("body", "media", "message"), [
    (b"", "application/json", "must be JSON"),
    (b"", "", "no request body"),
    (b"\x00", "application/json", "must be JSON"),
    (b'{"a": 1, "a": 2}', "application/json", "duplicate field"),
    (b"3", "application/json", "one event object or an array"),
    (b"{}", "application/xml", "unsupported Content-Type"),
])
def test_unreadable_bodies_are_refused_whole(body, media, message):
    with pytest.raises(BodyError, match=message):
        decode_body(body, media)


def test_no_content_type_means_ndjson():
    assert decode_body(json.dumps(POLL).encode(), "").events == decode_ndjson(
        json.dumps(POLL).encode()).events
