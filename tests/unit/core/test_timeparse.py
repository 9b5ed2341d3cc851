from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streamproc.core.timeparse import (
    MAX_TS_US,
    format_timestamp,
    parse_time_of_day,
    parse_timestamp,
    to_iso,
)


def us(*args: int) -> int:
    """Microseconds since the epoch of a UTC datetime, computed independently."""
    dt = datetime(*args, tzinfo=UTC)
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return delta.days * 86_400_000_000 + delta.seconds * 1_000_000 + delta.microseconds


BASE = us(2023, 1, 22, 12, 9, 39)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-01-22 12:09:39.388884 UTC", BASE + 388_884),
        ("2023-01-22 12:09:39 UTC", BASE),
        ("2023-01-22 12:09:39", BASE),
        ("2023-01-22T12:09:39Z", BASE),
        ("2023-01-22T12:09:39z", BASE),
        ("2023-01-22T12:09:39+00:00", BASE),
        ("2023-01-22T12:09:39.388884+00:00", BASE + 388_884),
        ("2023-01-22 12:09:39.5 UTC", BASE + 500_000),
        ("2023-01-22 12:09:39.05 UTC", BASE + 50_000),
        ("2023-01-22 12:09:39.123 UTC", BASE + 123_000),
        ("2023-01-22 12:09:39.000001 UTC", BASE + 1),
        ("2023-01-22T12:09:39.5Z", BASE + 500_000),
        ("  2023-01-22 12:09:39.388884 UTC \n", BASE + 388_884),
        ("\t2023-01-22T12:09:39Z ", BASE),
        ("2023-01-22 12:09:39UTC", BASE),
        ("1970-01-01 00:00:00 UTC", 0),
        ("2100-12-31 23:59:59.999999 UTC", MAX_TS_US - 1),
        ("2024-02-29 00:00:00", us(2024, 2, 29)),
    ],
)
def test_accepted_forms(text: str, expected: int) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-01-22T14:09:39+02:00", BASE),
        ("2023-01-22T14:09:39+0200", BASE),
        ("2023-01-22T14:09:39+02", BASE),
        ("2023-01-22T06:39:39-05:30", BASE),
        ("2023-01-23T01:09:39.25+13:00", BASE + 250_000),
        ("2023-01-22T12:09:39-00:00", BASE),
    ],
)
def test_offsets_are_converted_to_utc(text: str, expected: int) -> None:
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("garbage", "not a timestamp"),
        ("2023-01-22", "not a timestamp"),
        ("2023/01/22 12:09:39 UTC", "not a timestamp"),
        ("22-01-2023 12:09:39", "not a timestamp"),
        ("2023-01-22 12:09", "not a timestamp"),
        ("1674389379", "not a timestamp"),
        ("2023-01-22 12:09:39 EST", "'EST' is not supported"),
        ("2023-01-22 12:09:39 America/New_York", "is not supported"),
        ("2023-01-22 12:09:39 CET", "is not supported"),
        ("2023-01-22 12:09:39 UTC+5", "is not supported"),
        ("1969-12-31 23:59:59 UTC", "year 1969 is outside 1970..2100"),
        ("2101-01-01 00:00:00 UTC", "year 2101 is outside 1970..2100"),
        ("9999-01-01 00:00:00.000000 UTC", "year 9999 is outside"),
        ("0001-01-01 00:00:00.000000 UTC", "year 1 is outside"),
        ("1970-01-01T00:30:00+01:00", "once converted to UTC"),
        ("2023-13-01 00:00:00 UTC", "month 13"),
        ("2023-00-10 00:00:00.000000 UTC", "month 00"),
        ("2023-02-29 00:00:00.000000 UTC", "day 29 does not exist in 2023-02"),
        ("2023-01-32 00:00:00 UTC", "day 32"),
        ("2023-01-22 24:00:00 UTC", "hour 24"),
        ("2023-01-22 12:60:00.000000 UTC", "minute 60"),
        ("2023-01-22 12:09:60 UTC", "second 60"),
        ("2023-01-22 12:09:39.1234567 UTC", "more than 6 digits"),
        ("2023-01-22 12:09:39. UTC", "not a timestamp"),
        ("2023-01-22 12:09:39.+88884 UTC", "not a timestamp"),
        ("2023-01-22 12:09:39.38888\u0664 UTC", "non-ASCII"),  # Arabic-Indic digit
        ("\u0662023-01-22 12:09:39.388884 UTC", "non-ASCII"),
        ("2023-01-22T12:09:39+25:00", "out of range"),
        ("2023-01-22T12:09:39+05:61", "out of range"),
        ("2023-01-22 12:09:39.388884 UTC x", "not a timestamp"),
        ("2023-01-22x12:09:39.388884 UTC", "not a timestamp"),
        ("2023-01-22 12:09:39.3+0100 UTC", "not a timestamp"),
        ("2023-01-22 12:09:39.3Z    UTC", "not a timestamp"),
    ],
)
def test_rejected_with_reason(text: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_timestamp(text)
    assert fragment in str(info.value)


def test_fast_path_agrees_with_datetime() -> None:
    text = "2023-01-18 13:32:22.130367 UTC"
    assert parse_timestamp(text) == us(2023, 1, 18, 13, 32, 22, 130367)
    # Second call (cache hit) gives the same answer.
    assert parse_timestamp(text) == us(2023, 1, 18, 13, 32, 22, 130367)


@given(st.integers(min_value=0, max_value=MAX_TS_US - 1))
def test_format_parse_round_trip(ts_us: int) -> None:
    text = format_timestamp(ts_us)
    assert parse_timestamp(text) == ts_us
    assert parse_timestamp(to_iso(ts_us)) == ts_us


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2100, 12, 31, 23, 59)))
def test_parse_agrees_with_datetime(dt: datetime) -> None:
    expected = us(dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second, dt.microsecond)
    assert parse_timestamp(dt.strftime("%Y-%m-%d %H:%M:%S.%f UTC")) == expected
    assert parse_timestamp(dt.isoformat() + "Z") == expected
    assert parse_timestamp(dt.isoformat(sep=" ", timespec="seconds")) == expected - dt.microsecond


def test_format_shapes() -> None:
    assert format_timestamp(BASE + 388_884) == "2023-01-22 12:09:39.388884 UTC"
    assert format_timestamp(0) == "1970-01-01 00:00:00.000000 UTC"
    assert to_iso(BASE + 388_884) == "2023-01-22T12:09:39.388884Z"
    assert to_iso(BASE) == "2023-01-22T12:09:39.000000Z"


H = 3_600_000_000
M = 60_000_000
S = 1_000_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("00:00", 0),
        ("00:00:00", 0),
        ("09:30", 9 * H + 30 * M),
        ("9:30", 9 * H + 30 * M),
        ("23:59", 23 * H + 59 * M),
        ("23:59:59", 23 * H + 59 * M + 59 * S),
        ("23:59:59.999999", 24 * H - 1),
        ("12:00:00.5", 12 * H + 500_000),
        (" 10:15:30 ", 10 * H + 15 * M + 30 * S),
    ],
)
def test_time_of_day(text: str, expected: int) -> None:
    assert parse_time_of_day(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("24:00", "hour 24 is outside 00..23"),
        ("24:00:00", "hour 24"),
        ("25:00", "hour 25"),
        ("12:60", "minute 60 is outside 00..59"),
        ("12:00:60", "second 60 is outside 00..59"),
        ("", "empty time of day"),
        ("   ", "empty time of day"),
        ("1200", "expected HH:MM"),
        ("12", "expected HH:MM"),
        ("12:5", "expected HH:MM"),
        ("123:00", "expected HH:MM"),
        ("12:00:00.1234567", "expected HH:MM"),
        ("12:00 PM", "expected HH:MM"),
        ("-1:00", "expected HH:MM"),
        ("\u0661\u0662:00", "expected HH:MM"),
        ("noon", "expected HH:MM"),
    ],
)
def test_time_of_day_rejected(text: str, fragment: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_time_of_day(text)
    assert fragment in str(info.value)


def test_parse_timestamp_speed_fast_path() -> None:
    """Not a benchmark: a guard against losing the fast path (generous bound)."""
    import time

    text = "2023-01-22 12:09:39.388884 UTC"
    n = 20_000
    start = time.perf_counter()
    for _ in range(n):
        parse_timestamp(text)
    per_call = (time.perf_counter() - start) / n
    assert per_call < 20e-6
