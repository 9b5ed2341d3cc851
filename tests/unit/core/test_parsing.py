from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from streamproc.core import parsing
from streamproc.core.parsing import (
    POLLS,
    HeaderError,
    LongLine,
    decode_lines,
    iter_records,
    make_header,
    parse_row,
    split_line,
)
from streamproc.core.records import Rejection
from streamproc.core.timeparse import parse_timestamp
from streamproc.csvfiles import (
    iter_hours,
    iter_polls,
    iter_polls_chunks,
    iter_special_hours,
    iter_timezones,
    open_lines,
)

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"  # beside the checkout
TS = "2023-01-22 12:09:39.388884 UTC"
TS_US = parse_timestamp(TS)
H = 3_600_000_000


def split(items: list) -> tuple[list, list[Rejection]]:
    records = [i for i in items if not isinstance(i, Rejection)]
    rejections = [i for i in items if isinstance(i, Rejection)]
    return records, rejections


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    if name.endswith(".gz"):
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- polls


def test_polls_real_header_order() -> None:
    lines = [
        "store_id,status,timestamp_utc",
        f"8419537941919820732,active,{TS}",
        "54515546588432327,inactive,2023-01-24 09:06:42 UTC",
    ]
    assert list(iter_polls(lines)) == [
        ("8419537941919820732", TS_US, True),
        ("54515546588432327", parse_timestamp("2023-01-24 09:06:42 UTC"), False),
    ]


@pytest.mark.parametrize(
    "header",
    [
        "store_id,timestamp_utc,status",
        "status,store_id,timestamp_utc",
        "timestamp_utc,status,store_id",
        " Store_ID , STATUS , Timestamp_UTC ",
    ],
)
def test_polls_columns_by_name_any_order(header: str) -> None:
    values = {"store_id": "42", "timestamp_utc": TS, "status": "active"}
    names = [h.strip().lower() for h in header.split(",")]
    row = ",".join(values[n] for n in names)
    assert list(iter_polls([header, row])) == [("42", TS_US, True)]


def test_polls_extra_columns_are_ignored() -> None:
    lines = ["note,store_id,status,timestamp_utc,x", f"hello,7,active,{TS},"]
    assert list(iter_polls(lines)) == [("7", TS_US, True)]


def test_poll_ids_are_never_numbers() -> None:
    lines = [
        "store_id,status,timestamp_utc",
        f"0042,active,{TS}",
        f"9223372036854775807,active,{TS}",
    ]
    records = list(iter_polls(lines))
    assert [r[0] for r in records] == ["0042", "9223372036854775807"]
    assert all(isinstance(r[0], str) for r in records)


@pytest.mark.parametrize(
    ("status", "active"),
    [
        ("active", True),
        ("inactive", False),
        ("ACTIVE", True),
        (" Inactive ", False),
        ("Active", True),
    ],
)
def test_status_any_case_and_whitespace(status: str, active: bool) -> None:
    assert list(iter_polls(["store_id,status,timestamp_utc", f"1,{status},{TS}"])) == [
        ("1", TS_US, active)
    ]


@pytest.mark.parametrize(
    "ts",
    [
        "2023-01-22 12:09:39.388884 UTC",
        "2023-01-22 12:09:39 UTC",
        "2023-01-22 12:09:39",
        "2023-01-22T12:09:39Z",
        "2023-01-22T12:09:39+00:00",
        "2023-01-22T12:09:39.388884+00:00",
        " 2023-01-22 12:09:39.388884 UTC ",
    ],
)
def test_poll_timestamp_forms(ts: str) -> None:
    [(sid, ts_us, active)] = iter_polls(["store_id,status,timestamp_utc", f"1,active,{ts}"])
    assert ts_us == parse_timestamp(ts)
    assert ts_us // 1_000_000 == TS_US // 1_000_000


def test_store_id_is_stripped() -> None:
    assert list(iter_polls(["store_id,status,timestamp_utc", f"  77 ,active,{TS}"])) == [
        ("77", TS_US, True)
    ]


def test_store_id_with_allowed_punctuation() -> None:
    lines = ["store_id,status,timestamp_utc", f"abc-1_2.x:y,active,{TS}"]
    assert list(iter_polls(lines)) == [("abc-1_2.x:y", TS_US, True)]


# Each malformed kind: (line text, fragment of the reason). All live in one file with good rows.
BAD_POLLS: list[tuple[str | bytes, str]] = [
    (f"1,active,{TS},extra", "expected 3 fields, got 4"),
    ("1,active", "expected 3 fields, got 2"),
    (b"1,\xffactive," + TS.encode(), "invalid UTF-8"),
    ("1,active,not a time", "timestamp_utc 'not a time': not a timestamp"),
    ("1,active,1969-12-31 23:59:59.000000 UTC", "year 1969 is outside 1970..2100"),
    ("1,active,2150-01-01 00:00:00.000000 UTC", "year 2150 is outside 1970..2100"),
    ("1,active,2023-02-30 10:00:00.000000 UTC", "day 30 does not exist"),
    ("1,active,2023-01-22 12:09:39 EST", "'EST' is not supported"),
    (f"1,maybe,{TS}", "status 'maybe' is not active or inactive"),
    (f"1,,{TS}", "missing status"),
    ("1,active,", "missing timestamp_utc"),
    (f",active,{TS}", "missing store_id"),
    (f"  ,active,{TS}", "missing store_id"),
    (",,", "missing store_id"),
    (f'"x,y",active,{TS}', "store_id 'x,y' is not a safe id (letters, digits, _ . : - ; max 128)"),
    (f'"x""y",active,{TS}', """store_id 'x"y' is not a safe id"""),
    (f"=cmd,active,{TS}", "store_id '=cmd' is not a safe id"),
    (f"+1,active,{TS}", "store_id '+1' is not a safe id"),
    (f"-1,active,{TS}", "store_id '-1' is not a safe id"),
    (f"@x,active,{TS}", "store_id '@x' is not a safe id"),
    (f"1 2,active,{TS}", "store_id '1 2' is not a safe id"),
    (f"{'9' * 129},active,{TS}", "is not a safe id"),
    (f"caf\u00e9,active,{TS}", "is not a safe id"),
    (f"\u0661\u0662,active,{TS}", "is not a safe id"),  # Arabic-Indic digits
    (f"1,=active,{TS}", "status '=active' is not active or inactive"),
    ("1,active,2023-01-22 12:09:39.3+0100 UTC", "not a timestamp"),
    ("1,active,2023-01-22 12:09:39.3Z    UTC", "not a timestamp"),
    ("1,active,2023-01-22 24:00:00.000000 UTC", "hour 24"),
    ("1,active,2023-01-22 23:59:60.000000 UTC", "second 60"),
    ("1,active,2023-01-22 12:09:39.38888x UTC", "not a timestamp"),
    (f'"1,active,{TS}', "unterminated quoted field"),
    (f'"1"x,active,{TS}', "malformed CSV quoting"),
]


def test_each_bad_poll_row_is_rejected_and_good_rows_kept() -> None:
    lines: list[str | bytes] = ["store_id,status,timestamp_utc"]
    expected: list[tuple[int, str]] = []
    good = 0
    for text, fragment in BAD_POLLS:
        lines.append(f"{good},active,{TS}")
        good += 1
        lines.append(text)
        expected.append((len(lines), fragment))
    lines.append(f"{good},inactive,{TS}")
    good += 1
    records, rejections = split(
        list(iter_polls([x.encode() if isinstance(x, str) else x for x in lines]))
    )
    assert [r[0] for r in records] == [str(i) for i in range(good)]
    assert len(rejections) == len(BAD_POLLS)
    for rejection, (line, fragment) in zip(rejections, expected, strict=True):
        assert rejection.source == "polls"
        assert rejection.line == line, rejection
        assert fragment in rejection.reason, rejection
        assert isinstance(rejection.raw, str)


def test_quoted_field_with_newline_counts_physical_lines(tmp_path: Path) -> None:
    data = (
        "store_id,status,timestamp_utc,note\n"
        f'1,active,{TS},"two\nlines"\n'
        f'"a\nb",active,{TS},\n'
        f"3,active,{TS},\n"
    ).encode()
    items = list(iter_polls(write(tmp_path, "p.csv", data)))
    assert items[0] == ("1", TS_US, True)
    assert isinstance(items[1], Rejection)
    assert items[1].line == 4
    assert "store_id 'a\\nb' is not a safe id" in items[1].reason
    assert items[1].raw == f'"a\nb",active,{TS},'
    assert items[2] == ("3", TS_US, True)


def test_unterminated_quote_does_not_swallow_the_rest() -> None:
    lines = ["store_id,status,timestamp_utc", f'"1,active,{TS}']
    lines += [f"{i},active,{TS}" for i in range(2, 300)]
    records, rejections = split(list(iter_polls(lines)))
    assert [(r.line, r.reason) for r in rejections] == [(2, "unterminated quoted field")]
    assert [r[0] for r in records] == [str(i) for i in range(2, 300)]


def test_ten_megabyte_line_is_rejected_and_parsing_goes_on(tmp_path: Path) -> None:
    huge = "9" * 10_000_000
    data = (
        f"store_id,status,timestamp_utc\n1,active,{TS}\n{huge},active,{TS}\n"
        f'"{huge}",active,{TS}\n2,active,{TS}\n'
    ).encode()
    for source in (write(tmp_path, "big.csv", data), write(tmp_path, "big.csv.gz", data)):
        records, rejections = split(list(iter_polls(source)))
        assert records == [("1", TS_US, True), ("2", TS_US, True)]
        assert [r.line for r in rejections] == [3, 4]
        assert all("line is too long" in r.reason for r in rejections)
        assert all(len(r.raw) < 600 for r in rejections)
    records, rejections = split(list(iter_polls(data.decode().splitlines())))
    assert len(records) == 2
    assert [r.line for r in rejections] == [3, 4]


def test_line_over_csv_field_limit_is_rejected() -> None:
    """A quoted field just under the line limit but over nothing else still parses safely."""
    long_id = "7" * 60_000
    lines = ["store_id,status,timestamp_utc", f'"{long_id}",active,{TS}', f"1,active,{TS}"]
    records, rejections = split(list(iter_polls(lines)))
    assert records == [("1", TS_US, True)]
    assert rejections[0].line == 2
    assert "is not a safe id" in rejections[0].reason
    assert len(rejections[0].reason) < 200


def test_blank_lines_are_skipped_silently(tmp_path: Path) -> None:
    data = f"store_id,status,timestamp_utc\n\n1,active,{TS}\n   \n\t\n2,active,{TS}\n\n".encode()
    items = list(iter_polls(write(tmp_path, "blank.csv", data)))
    assert items == [("1", TS_US, True), ("2", TS_US, True)]
    # Line numbers still count blank lines.
    data = f"store_id,status,timestamp_utc\n\n\n1,bad,{TS}\n".encode()
    [rejection] = iter_polls(write(tmp_path, "blank2.csv", data))
    assert rejection.line == 4


def test_bom_crlf_and_missing_final_newline(tmp_path: Path) -> None:
    data = f"\ufeffstore_id,status,timestamp_utc\r\n1,active,{TS}\r\n2,inactive,{TS}".encode()
    for name in ("bom.csv", "bom.csv.gz"):
        assert list(iter_polls(write(tmp_path, name, data))) == [
            ("1", TS_US, True),
            ("2", TS_US, False),
        ]
    assert list(iter_polls(data.decode().splitlines(keepends=True))) == [
        ("1", TS_US, True),
        ("2", TS_US, False),
    ]
    assert list(iter_polls(data.splitlines(keepends=True))) == [
        ("1", TS_US, True),
        ("2", TS_US, False),
    ]


def test_invalid_utf8_in_a_file_rejects_only_that_line(tmp_path: Path) -> None:
    data = (
        b"store_id,status,timestamp_utc\n1,active," + TS.encode() + b"\n"
        b"2,act\xc3ive," + TS.encode() + b"\n"
        b"3,active," + TS.encode() + b"\n"
    )
    for name in ("u.csv", "u.csv.gz"):
        records, rejections = split(list(iter_polls(write(tmp_path, name, data))))
        assert [r[0] for r in records] == ["1", "3"]
        [rejection] = rejections
        assert rejection.line == 3
        assert "invalid UTF-8" in rejection.reason
        assert rejection.raw == "2,act\\xc3ive," + TS


def test_raw_is_truncated() -> None:
    lines = ["store_id,status,timestamp_utc", "1,active," + "x" * 5000]
    [rejection] = iter_polls(lines)
    assert len(rejection.raw) < 600
    assert rejection.raw.startswith("1,active,xxx")
    assert "5009" in rejection.raw


def test_gzip_file_and_path_types(tmp_path: Path) -> None:
    rows = [f"{i},{'active' if i % 2 else 'inactive'},{TS}" for i in range(5000)]
    data = ("store_id,status,timestamp_utc\n" + "\n".join(rows) + "\n").encode()
    gz = write(tmp_path, "p.csv.gz", data)
    plain = write(tmp_path, "p.csv", data)
    expected = [(str(i), TS_US, bool(i % 2)) for i in range(5000)]
    assert list(iter_polls(gz)) == expected
    assert list(iter_polls(str(gz))) == expected
    assert list(iter_polls(plain)) == expected
    assert list(iter_polls(str(plain))) == expected


def test_large_gzip_crosses_read_blocks(tmp_path: Path) -> None:
    n = 60_000  # > 1 MiB of text: several read blocks, lines split across them
    data = "store_id,status,timestamp_utc\n" + "".join(
        f"{i},active,2023-01-22 12:{i // 60 % 60:02d}:{i % 60:02d}.{i % 1000000:06d} UTC\n"
        for i in range(n)
    )
    items = list(iter_polls(write(tmp_path, "big.csv.gz", data.encode())))
    assert len(items) == n
    assert not any(isinstance(i, Rejection) for i in items)
    assert items[-1][0] == str(n - 1)


def test_abandoning_a_gzip_iterator_is_safe(tmp_path: Path) -> None:
    data = "store_id,status,timestamp_utc\n" + f"1,active,{TS}\n" * 200_000
    it = iter_polls(write(tmp_path, "a.csv.gz", data.encode()))
    assert next(it) == ("1", TS_US, True)
    it.close()  # stops the decompression thread


def test_iterable_of_lines_is_consumed_lazily() -> None:
    seen: list[int] = []

    def tail():
        yield "store_id,status,timestamp_utc\n"
        for i in range(3):
            seen.append(i)
            yield f"{i},active,{TS}\n"

    it = iter_polls(tail())
    assert next(it) == ("0", TS_US, True)
    assert seen == [0]
    assert list(it) == [("1", TS_US, True), ("2", TS_US, True)]


def test_rejection_source_name_can_be_overridden() -> None:
    [r] = iter_polls(["store_id,status,timestamp_utc", "1,x,y"], name="store-polls")
    assert r.source == "store-polls"


def test_polls_chunks() -> None:
    lines = ["store_id,status,timestamp_utc"] + [f"{i},active,{TS}" for i in range(25)]
    lines[10] = "bad"
    chunks = list(iter_polls_chunks(lines, chunk_rows=10))
    assert [len(r) + len(j) for r, j in chunks] == [10, 10, 5]
    assert sum(len(j) for _, j in chunks) == 1
    assert chunks[0][1][0].line == 11


# --------------------------------------------------------------------------- headers


@pytest.mark.parametrize(
    ("lines", "fragment"),
    [
        (["store_id,status"], "missing column timestamp_utc"),
        (["id,status,timestamp_utc"], "missing column store_id"),
        ([], "no header line"),
        (["", "  "], "no header line"),
        (["store_id,status,timestamp_utc,status"], "ambiguous column status"),
    ],
)
def test_polls_header_errors(lines: list[str], fragment: str) -> None:
    with pytest.raises(HeaderError) as info:
        list(iter_polls(lines))
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_header_error_names_columns_found() -> None:
    with pytest.raises(HeaderError) as info:
        list(iter_hours(["store_id,weekday,start_time_local,end_time_local"]))
    message = str(info.value)
    assert "dayOfWeek or day or day_of_week" in message
    assert "weekday" in message


def test_header_error_for_empty_file(tmp_path: Path) -> None:
    with pytest.raises(HeaderError):
        list(iter_timezones(write(tmp_path, "empty.csv", b"")))


def test_hours_with_two_day_columns_is_ambiguous() -> None:
    with pytest.raises(HeaderError, match="ambiguous"):
        list(iter_hours(["store_id,day,dayOfWeek,start_time_local,end_time_local"]))


# --------------------------------------------------------------------------- hours


@pytest.mark.parametrize("day_column", ["dayOfWeek", "day", "day_of_week"])
def test_hours_each_day_column_name(day_column: str) -> None:
    lines = [
        f"end_time_local,{day_column},store_id,start_time_local",
        "17:00:00,0,1,09:00:00",
        "00:10,6,1,23:00",
    ]
    assert list(iter_hours(lines)) == [("1", 0, 9 * H, 17 * H), ("1", 6, 23 * H, 600_000_000)]


def test_hours_real_header() -> None:
    lines = [
        "store_id,day,start_time_local,end_time_local",
        "1481966498820158979,4,00:00:00,00:10:00",
    ]
    assert list(iter_hours(lines)) == [("1481966498820158979", 4, 0, 600_000_000)]


def test_hours_bad_rows() -> None:
    bad = [
        ("1,7,09:00,17:00", "day 7 is outside 0..6"),
        ("1,x,09:00,17:00", "day 'x' is not an integer 0..6"),
        ("1,-1,09:00,17:00", "day '-1' is not an integer 0..6"),
        ("1,1.0,09:00,17:00", "day '1.0' is not an integer 0..6"),
        ("1,,09:00,17:00", "missing day"),
        ("1,1,24:00,17:00", "start_time_local '24:00': hour 24 is outside 00..23"),
        ("1,1,09:00,25:00", "end_time_local '25:00': hour 25"),
        ("1,1,12:60,17:00", "minute 60"),
        ("1,1,,17:00", "missing start_time_local"),
        ("1,1,09:00,", "missing end_time_local"),
        ("1,1,9am,17:00", "start_time_local '9am': not a time of day"),
        ("=1,1,09:00,17:00", "store_id '=1' is not a safe id"),
        ("1,1,09:00", "expected 4 fields, got 3"),
    ]
    lines = ["store_id,day,start_time_local,end_time_local"]
    for text, _ in bad:
        lines += ["2,2,10:00,11:00", text]
    records, rejections = split(list(iter_hours(lines)))
    assert records == [("2", 2, 10 * H, 11 * H)] * len(bad)
    assert [r.line for r in rejections] == [3 + 2 * i for i in range(len(bad))]
    for rejection, (_, fragment) in zip(rejections, bad, strict=True):
        assert rejection.source == "hours"
        assert fragment in rejection.reason, rejection


def test_hours_day_with_spaces_and_leading_zero() -> None:
    lines = [
        "store_id,day,start_time_local,end_time_local",
        "1, 3 ,09:00,10:00",
        "1,03,09:00,10:00",
    ]
    assert list(iter_hours(lines)) == [("1", 3, 9 * H, 10 * H)] * 2


# --------------------------------------------------------------------------- time zones


def test_timezones() -> None:
    lines = [
        "timezone_str,store_id",
        "America/Chicago,1",
        " Asia/Beirut ,2",
        "america/chicago,3",
        "Mars/Olympus,4",
        "../../etc/passwd,5",
        "/usr/share/zoneinfo/UTC,6",
        ",7",
        "UTC,8",
        "=cmd,9",
    ]
    records, rejections = split(list(iter_timezones(lines)))
    assert records == [("1", "America/Chicago"), ("2", "Asia/Beirut"), ("8", "UTC")]
    reasons = {r.line: r.reason for r in rejections}
    assert "is not a known IANA time zone (did you mean 'America/Chicago'?)" in reasons[4]
    assert "'Mars/Olympus' is not a known IANA time zone" in reasons[5]
    assert "'../../etc/passwd' is not a known IANA time zone" in reasons[6]
    assert "is not a known IANA time zone" in reasons[7]
    assert reasons[8] == "missing timezone_str"
    assert "'=cmd' is not a known IANA time zone" in reasons[10]
    assert all(r.source == "timezones" for r in rejections)


# --------------------------------------------------------------------------- per-row API


def test_per_row_functions_for_tailing() -> None:
    header = make_header("polls", split_line("store_id,status,timestamp_utc"))
    assert parse_row(split_line(f"1,active,{TS}"), header) == ("1", TS_US, True)
    assert parse_row(split_line(f'"1",Inactive,{TS}'), header) == ("1", TS_US, False)
    with pytest.raises(ValueError, match="expected 3 fields, got 2"):
        parse_row(["1", "active"], header)
    with pytest.raises(ValueError, match="status 'on' is not active or inactive"):
        parse_row(["1", "on", TS], header)

    hours = make_header("hours", ["store_id", "dayOfWeek", "start_time_local", "end_time_local"])
    assert parse_row(["1", "2", "09:00", "10:00"], hours) == ("1", 2, 9 * H, 10 * H)
    with pytest.raises(ValueError, match="dayOfWeek 9 is outside 0..6"):
        parse_row(["1", "9", "09:00", "10:00"], hours)

    tz = make_header("timezones", ["store_id", "timezone_str"])
    assert parse_row(["1", "Europe/Paris"], tz) == ("1", "Europe/Paris")
    with pytest.raises(ValueError, match="not a known IANA"):
        parse_row(["1", "Europe/Atlantis"], tz)

    special = make_header("special_hours", ["store_id", "date", "start_time_local",
                                            "end_time_local"])
    [expected] = iter_special_hours(["store_id,date,start_time_local,end_time_local",
                                     "1,2026-12-25,,"])
    assert parse_row(["1", "2026-12-25", "", ""], special) == expected
    with pytest.raises(ValueError, match="expected 4 fields, got 3"):
        parse_row(["1", "2026-12-25", ""], special)

    with pytest.raises(ValueError, match="unknown source kind"):
        make_header("menus", ["store_id"])


def test_core_reads_lines_it_is_given() -> None:
    """The pure core takes lines, decoded once (`decode_lines`) or by a file reader (str,
    bytes that are not UTF-8, `LongLine`); a path is not lines."""
    lines = ["store_id,status,timestamp_utc", f"1,active,{TS}", b"2,\xff", LongLine(b"3,", 70_000)]
    items = list(iter_records(POLLS, lines, "p"))
    assert items[0] == ("1", TS_US, True)
    assert [(r.line, r.reason) for r in items[1:]] == [
        (3, "invalid UTF-8 (byte 2)"), (4, "line is too long (70000 bytes; limit 65536)")]
    assert list(iter_records(POLLS, decode_lines([f"\ufeff{lines[0]}\r\n", lines[1]]))) == [
        ("1", TS_US, True)]
    with pytest.raises(TypeError, match="not str"):
        list(decode_lines("store_id,status,timestamp_utc"))


def test_open_lines(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbfa,b\r\nc,d\n\xff\nlast"
    path = write(tmp_path, "x.csv.gz", data)
    assert list(open_lines(path)) == ["a,b", "c,d", b"\xff", "last"]


def test_source_type_errors() -> None:
    with pytest.raises(TypeError):
        list(iter_polls(b"store_id,status,timestamp_utc\n"))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        list(iter_polls([1, 2]))  # type: ignore[list-item]


# --------------------------------------------------------------------------- real data


@pytest.mark.skipif(
    not (SHARED / "store_status_sample.csv").exists(), reason="shared sample data not present"
)
def test_shared_sample_polls_parse_cleanly() -> None:
    records, rejections = split(list(iter_polls(SHARED / "store_status_sample.csv")))
    assert rejections == []
    assert len(records) > 1000
    with (SHARED / "store_status_sample.csv").open() as f:
        assert len(records) == sum(1 for line in f if line.strip()) - 1


@pytest.mark.skipif(not (SHARED / "menu_hours.csv").exists(), reason="shared data not present")
def test_shared_menu_hours_parse_cleanly() -> None:
    records, rejections = split(list(iter_hours(SHARED / "menu_hours.csv")))
    assert rejections == []
    assert len(records) > 1000
    assert all(0 <= day <= 6 for _, day, _, _ in records)


@pytest.mark.skipif(not (SHARED / "timezones.csv").exists(), reason="shared data not present")
def test_shared_timezones_parse_cleanly() -> None:
    records, rejections = split(list(iter_timezones(SHARED / "timezones.csv")))
    assert rejections == []
    assert len(records) > 1000


def test_module_is_pure() -> None:
    source = Path(parsing.__file__).read_text()
    for name in ("faust", "aiokafka", "aiohttp"):
        assert f"import {name}" not in source
