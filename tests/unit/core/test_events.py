"""The public event format (core/events.py): strict JSON, the CSV's own checks and messages."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamproc.core import wire
from streamproc.core.events import (
    MAX_EVENT_BYTES,
    HoursEvent,
    PollEvent,
    TimezoneEvent,
    decode_event,
)
from streamproc.core.parsing import make_header, parse_row
from streamproc.core.timeparse import format_timestamp, parse_time_of_day, parse_timestamp
from streamproc.core.timezones import known_timezones
from streamproc.csvfiles import iter_hours, iter_polls, iter_timezones

TS = "2023-01-22 12:09:39.388884 UTC"
TS_US = parse_timestamp(TS)
H = 3_600_000_000


def enc(doc: object) -> bytes:
    return json.dumps(doc).encode()


def poll(**fields: object) -> dict:
    return {"type": "poll", "store_id": "1234", "status": "active", "timestamp_utc": TS} | fields


def row(day: object = 0, start: object = "09:00", end: object = "17:00") -> dict:
    return {"day": day, "start_time_local": start, "end_time_local": end}


def hours(*rows: dict, **fields: object) -> dict:
    return {"type": "hours", "store_id": "1234", "hours": list(rows)} | fields


def zone(**fields: object) -> dict:
    return {"type": "timezone", "store_id": "1234", "timezone_str": "America/Denver"} | fields


# --------------------------------------------------------------------------- accepted


def test_a_poll() -> None:
    assert decode_event(enc(poll())) == PollEvent("1234", TS_US, True)
    assert decode_event(enc(poll(status="INACTIVE"))) == PollEvent("1234", TS_US, False)


@pytest.mark.parametrize("ts", [
    "2023-01-22 12:09:39.388884 UTC", "2023-01-22 12:09:39 UTC", "2023-01-22 12:09:39",
    "2023-01-22T12:09:39Z", "2023-01-22T12:09:39+00:00", "2023-01-22T07:09:39-05:00",
])
def test_every_csv_timestamp_form(ts: str) -> None:
    event = decode_event(enc(poll(timestamp_utc=ts)))
    assert isinstance(event, PollEvent)
    assert event.ts_us // 1_000_000 == parse_timestamp("2023-01-22 12:09:39 UTC") // 1_000_000


def test_hours_whole_set_and_empty() -> None:
    event = decode_event(enc(hours(row(0, "09:00", "17:00"), row(4, "18:00", "02:00:00.5"))))
    assert event == HoursEvent("1234", ((0, 9 * H, 17 * H), (4, 18 * H, 2 * H + 500_000)))
    assert decode_event(enc(hours())) == HoursEvent("1234", ())


def test_a_timezone() -> None:
    assert decode_event(enc(zone())) == TimezoneEvent("1234", "America/Denver")


def test_field_order_and_whitespace_do_not_matter() -> None:
    value = b'  {"timestamp_utc": "%s",\n "status": "active", "store_id": "1234", "type": "poll"} '
    assert decode_event(value % TS.encode()) == PollEvent("1234", TS_US, True)


# --------------------------------------------------------------------------- rejected


@pytest.mark.parametrize(("value", "reason"), [
    (None, "message has no value"),
    (b"", "value is not JSON"),
    (b"\xff{}", "value is not valid UTF-8"),
    (b'{"type": "poll"', "value is not JSON"),
    (b"[1, 2]", "value must be a JSON object, not an array"),
    (b'"poll"', "value must be a JSON object, not a string"),
    (b'{"type": "poll", "x": NaN}', "NaN is not a JSON number"),
    (b'{"type": "poll", "type": "poll"}', "duplicate field 'type'"),
    (b"[" * 30_000 + b"]" * 30_000, "value is not JSON"),
    (b'{"store_id": "1"}', "missing field 'type'"),
    (b'{"type": "Poll"}', "unknown type 'Poll'"),
    (b'{"type": 1}', "unknown type 1"),
])
def test_not_an_event(value: bytes | None, reason: str) -> None:
    assert reason in decode_event(value)


def test_size_limit() -> None:
    doc = poll(store_id="1" + " " * MAX_EVENT_BYTES)
    assert "at most 65536" in decode_event(enc(doc))


@pytest.mark.parametrize(("doc", "reason"), [
    (poll(extra=1), "poll: unknown field 'extra'; expected store_id, timestamp_utc, status"),
    ({"type": "poll", "store_id": "1"}, "poll: missing field 'timestamp_utc', 'status'"),
    (poll(store_id=1234), "poll: store_id must be a string, not a number"),
    (poll(status=True), "poll: status must be a string, not a boolean"),
    (poll(timestamp_utc=None), "poll: timestamp_utc must be a string, not null"),
    (poll(store_id=""), "poll: missing store_id"),
    (poll(store_id="=1+2"), "poll: store_id '=1+2' is not a safe id"),
    (poll(status="up"), "poll: status 'up' is not active or inactive"),
    (poll(status=""), "poll: missing status"),
    (poll(timestamp_utc="2023-13-01 00:00:00"),
     "poll: timestamp_utc '2023-13-01 00:00:00': month 13 is outside 01..12"),
    (poll(timestamp_utc="2023-01-01 00:00:00 EST"), "poll: timestamp_utc '2023-01-01 00:00:00 EST"
     "': time zone 'EST' is not supported"),
    (hours(row(7)), "hours: hours[0]: day 7 is outside 0..6 (0=Monday)"),
    (hours(row(), row(-1)), "hours: hours[1]: day '-1' is not an integer 0..6"),
    (hours(row("0")), "hours: hours[0]: day must be an integer 0..6, not a string"),
    (hours(row(True)), "hours: hours[0]: day must be an integer 0..6, not a boolean"),
    (hours(row(end="24:00")), "hours: hours[0]: end_time_local '24:00': hour 24 is outside"),
    (hours(row(start=9)), "hours: hours[0]: start_time_local must be a string, not a number"),
    (hours(row() | {"dayOfWeek": 1}), "hours: hours[0]: unknown field 'dayOfWeek'"),
    (hours({"day": 1}), "hours: hours[0]: missing field 'start_time_local', 'end_time_local'"),
    (hours([0, "09:00", "17:00"]), "hours: hours[0]: must be an object"),
    (hours(hours=None), "hours: hours must be a list of rows, not null"),
    (hours(*[row()] * (wire.MAX_HOURS_ROWS + 1)), "hours: hours has 337 rows; at most 336"),
    (hours(store_id="a b"), "hours: store_id 'a b' is not a safe id"),
    (zone(timezone_str="america/chicago"),
     "timezone: timezone_str 'america/chicago' is not a known IANA time zone "
     "(did you mean 'America/Chicago'?)"),
    (zone(timezone_str="CST"), "timezone: timezone_str 'CST' is not a known IANA time zone"),
    (zone(tz="UTC"), "timezone: unknown field 'tz'"),
])
def test_rejection_reasons(doc: dict, reason: str) -> None:
    got = decode_event(enc(doc))
    assert isinstance(got, str)
    assert got.startswith(reason), got


# --------------------------------------------------------------------------- as the CSV

POLL_HEADER = make_header("polls", ["store_id", "timestamp_utc", "status"])
HOURS_HEADER = make_header("hours", ["store_id", "day", "start_time_local", "end_time_local"])
TZ_HEADER = make_header("timezones", ["store_id", "timezone_str"])

store_ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}\Z")
statuses = st.sampled_from(["active", "inactive", "Active", "INACTIVE", " active "])
instants = st.integers(0, parse_timestamp("2100-01-01 00:00:00") - 1)
text = st.text(max_size=40)


@st.composite
def timestamp_texts(draw: st.DrawFn) -> str:
    """Any accepted form of a UTC timestamp (the CSV's own table in docs/semantics.md)."""
    ts = draw(instants)
    base = format_timestamp(ts)[:-4]  # YYYY-MM-DD HH:MM:SS.ffffff
    digits = draw(st.integers(0, 6))
    stamp = base[:19] + ("." + base[20:20 + digits] if digits else "")
    form = draw(st.sampled_from(["utc", "bare", "z", "offset"]))
    if form == "utc":
        return stamp + " UTC"
    if form == "bare":
        return stamp
    return stamp.replace(" ", "T") + ("Z" if form == "z" else "+00:00")


@given(store_ids, statuses, timestamp_texts())
def test_a_poll_event_of_any_valid_csv_row_is_that_row(sid: str, status: str, ts: str) -> None:
    line = f"{sid},{status},{ts}"
    [record] = list(iter_polls(["store_id,status,timestamp_utc", line]))
    event = decode_event(enc({"type": "poll", "store_id": sid, "status": status,
                              "timestamp_utc": ts}))
    assert event == PollEvent(*record)


def _same_as_csv(event: object, parse, cells: list[str], prefix: str) -> None:
    try:
        expected = parse(cells)
    except ValueError as exc:
        assert event == f"{prefix}{exc}"
    else:
        assert not isinstance(event, str), event
        assert tuple(event) == tuple(expected)


@given(st.one_of(store_ids, text), st.one_of(statuses, text),
       st.one_of(timestamp_texts(), text))
def test_poll_checks_are_the_csv_checks(sid: str, status: str, ts: str) -> None:
    event = decode_event(enc({"type": "poll", "store_id": sid, "status": status,
                              "timestamp_utc": ts}))
    _same_as_csv(event, lambda c: parse_row(c, POLL_HEADER), [sid, ts, status], "poll: ")


times = st.one_of(
    st.builds(lambda h, m, s: f"{h}:{m:02d}:{s:02d}", st.integers(0, 25), st.integers(0, 60),
              st.integers(0, 59)),
    st.sampled_from(["9:00", "00:00", "23:59:59.999999", "24:00", " 12:30 "]), text)


@given(st.one_of(store_ids, text), st.integers(-2, 8), times, times)
def test_hours_row_checks_are_the_csv_checks(sid: str, day: int, start: str, end: str) -> None:
    event = decode_event(enc(hours(row(day, start, end), store_id=sid)))
    cells = [sid, str(day), start, end]
    try:
        store_id, *values = parse_row(cells, HOURS_HEADER)
    except ValueError as exc:
        assert isinstance(event, str)
        assert event.replace("hours[0]: ", "") == f"hours: {exc}"
    else:
        assert event == HoursEvent(store_id, (tuple(values),))


@given(st.lists(st.tuples(st.integers(0, 6), times, times), max_size=10))
def test_an_hours_event_is_the_csv_rows_of_its_store(rows: list) -> None:
    lines = ["store_id,dayOfWeek,start_time_local,end_time_local"]
    lines += [f"7,{d},{s},{e}" for d, s, e in rows]
    csv_rows = list(iter_hours(lines))
    event = decode_event(enc(hours(*(row(*r) for r in rows), store_id="7")))
    if all(isinstance(r, tuple) and not hasattr(r, "reason") for r in csv_rows):
        assert event == HoursEvent("7", tuple(r[1:] for r in csv_rows))
    else:
        assert isinstance(event, str)


@given(st.one_of(store_ids, text),
       st.one_of(st.sampled_from(sorted(known_timezones())), text,
                 st.sampled_from(sorted(known_timezones())).map(str.upper)))
def test_timezone_checks_are_the_csv_checks(sid: str, tz: str) -> None:
    event = decode_event(enc(zone(store_id=sid, timezone_str=tz)))
    _same_as_csv(event, lambda c: parse_row(c, TZ_HEADER), [sid, tz], "timezone: ")
    if "," not in sid + tz and "\n" not in sid + tz and '"' not in sid + tz:
        [csv] = list(iter_timezones(["store_id,timezone_str", f"{sid},{tz}"]))
        if isinstance(event, TimezoneEvent):
            assert tuple(event) == csv


def test_time_of_day_fraction_is_kept() -> None:
    event = decode_event(enc(hours(row(2, "9:00:00.25", "9:00"))))
    assert event == HoursEvent("1234", ((2, parse_time_of_day("09:00:00.25"), 9 * H),))
