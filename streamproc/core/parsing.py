"""The rules that turn CSV lines into records (see docs/conventions.md and the contract).

Pure: lines in, records out. Reading a file (opening it, gunzip in a helper thread, splitting
its bytes into lines) is `streamproc.csvfiles`, which hands its lines to `iter_records`; the
event decoders (`events`, `event_bodies`) use the same header and row rules, so a field means
the same and is refused with the same words wherever it comes from.

Columns are found by header name (case-insensitive, surrounding spaces ignored), never by
position; extra columns are allowed and ignored. Every data row yields either a record tuple
or a `Rejection` with a specific reason; nothing raises mid-input. Only a header without a
required column raises (`HeaderError`), before any row is read.

Line handling, in order:

* Line numbers are physical 1-based line numbers (the header is line 1). A record whose
  quoted field spans several lines is reported at its first line.
* A UTF-8 byte order mark at the start of the input is removed.
* A line that is not valid UTF-8 is rejected ("invalid UTF-8 ...").
* A line that is empty or only whitespace is skipped silently: it carries no data, and
  editors and `cat a.csv b.csv` produce them. It is neither a record nor a rejection.
* A line longer than `MAX_LINE_CHARS` is rejected ("line is too long ...") without being
  parsed (so a 10 MB line never reaches the csv module's field size limit); a file reader
  hands a line too long to hold as a `LongLine`.
* Rows without a double quote take a fast path (`str.split(",")`); rows with one are parsed
  by the csv module (strict RFC 4180 quoting; a quoted field may contain commas, quotes and
  newlines). A quoted field left open for more than `MAX_RECORD_LINES` lines or
  `MAX_LINE_CHARS` characters is rejected on its first line and the following lines are
  parsed again as rows of their own.
* A row must have exactly as many fields as the header ("expected 3 fields, got 4").

Field rules: store ids are stripped and must match `records.STORE_ID_PATTERN` (this also
rejects spreadsheet formula prefixes `=`, `+`, `-`, `@`, and commas, quotes and newlines);
statuses are `active`/`inactive` in any case; timestamps follow `timeparse.parse_timestamp`;
days are integers 0..6; times of day follow `timeparse.parse_time_of_day`; time zones must be
names in the installed IANA database (`zoneinfo.available_timezones()`); special-hours dates
are local `YYYY-MM-DD` in 1970..2100, and a special row with both times empty says "closed
that date" (one empty time alone is rejected). An empty field is "missing <column>".
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from itertools import chain
from typing import Any, NamedTuple

from streamproc.core.hours import CLOSED
from streamproc.core.records import (
    HoursRow,
    Poll,
    Rejection,
    SpecialRow,
    TimezoneRow,
    is_valid_store_id,
)
from streamproc.core.timeparse import (
    MAX_TS_US,
    parse_local_date,
    parse_time_of_day,
    parse_timestamp,
    show,
)
from streamproc.core.timezones import known_timezones

MAX_LINE_CHARS = 65_536  # a real poll line is ~60 bytes
MAX_RECORD_LINES = 100  # physical lines one quoted record may span
RAW_LIMIT = 500  # characters of the raw line kept in a Rejection
BOM = "\ufeff"
BOM_BYTES = BOM.encode()
_SHOWN = 40  # characters of a bad cell quoted in a reason
_ID_CACHE_LIMIT = 1_000_000

POLLS = "polls"
HOURS = "hours"
TIMEZONES = "timezones"
SPECIAL = "special_hours"

# Required columns per source, in record order; each is a tuple of accepted names.
COLUMNS: dict[str, tuple[tuple[str, ...], ...]] = {
    POLLS: (("store_id",), ("timestamp_utc",), ("status",)),
    HOURS: (
        ("store_id",),
        ("dayOfWeek", "day", "day_of_week"),
        ("start_time_local",),
        ("end_time_local",),
    ),
    TIMEZONES: (("store_id",), ("timezone_str",)),
    SPECIAL: (("store_id",), ("date",), ("start_time_local",), ("end_time_local",)),
}

BAD_STORE_ID = "is not a safe id (letters, digits, _ . : - ; max 128)"

Record = Poll | HoursRow | TimezoneRow | SpecialRow


class HeaderError(ValueError):
    """The header line is missing, unreadable or lacks a required column."""


class Header(NamedTuple):
    """Where the required columns of one source are, found by name in its header line."""

    kind: str  # POLLS | HOURS | TIMEZONES | SPECIAL
    width: int  # number of fields in the header; every row must have as many
    positions: tuple[int, ...]  # index of each required column, in record order
    names: tuple[str, ...]  # the required columns' names as spelled in the header


class LongLine(NamedTuple):
    """Stands in for a file line too long to hold (made by the file reader): its first bytes
    and its length, enough to reject it with a readable excerpt."""

    head: bytes
    size: int


Line = str | bytes | LongLine  # bytes: a line that is not valid UTF-8


# --------------------------------------------------------------------------- header


def make_header(kind: str, fields: Sequence[str]) -> Header:
    """Find the required columns of `kind` in a header's fields; HeaderError if one is missing."""
    try:
        wanted = COLUMNS[kind]
    except KeyError:
        raise ValueError(f"unknown source kind {kind!r}; expected {sorted(COLUMNS)}") from None
    found = [f.strip().lstrip(BOM).strip() for f in fields]
    lowered = [f.lower() for f in found]
    positions: list[int] = []
    names: list[str] = []
    for aliases in wanted:
        hits = [i for i, name in enumerate(lowered) if name in {a.lower() for a in aliases}]
        if not hits:
            which = aliases[0] if len(aliases) == 1 else " or ".join(aliases)
            raise HeaderError(f"{kind}: missing column {which}; header has {found}")
        if len(hits) > 1:
            dupes = [found[i] for i in hits]
            raise HeaderError(f"{kind}: ambiguous column {aliases[0]}: {dupes} in header {found}")
        positions.append(hits[0])
        names.append(found[hits[0]])
    return Header(kind, len(found), tuple(positions), tuple(names))


def split_line(text: str) -> list[str]:
    """Fields of one CSV line (no embedded newlines); csv.Error on malformed quoting."""
    if '"' not in text:
        return text.split(",")
    return next(csv.reader([text], strict=True), [""])


# --------------------------------------------------------------------------- fields

# Accepted store ids, mapped to one shared str object (fewer copies of the same id in memory).
_IDS: dict[str, str] = {}


def parse_store_id(value: str) -> str:
    """A store id cell -> the stripped id; ValueError with the reason if it is not safe."""
    cached = _IDS.get(value)
    if cached is not None:
        return cached
    sid = value.strip()
    if not sid:
        raise ValueError("missing store_id")
    if not is_valid_store_id(sid):
        raise ValueError(f"store_id {show(sid, _SHOWN)} {BAD_STORE_ID}")
    if sid == value:
        if len(_IDS) >= _ID_CACHE_LIMIT:
            _IDS.clear()
        _IDS[sid] = sid
    return sid


def parse_status(value: str) -> bool:
    """`active` -> True, `inactive` -> False (any case, surrounding whitespace ignored)."""
    if value == "active":
        return True
    if value == "inactive":
        return False
    status = value.strip().lower()
    if status == "active":
        return True
    if status == "inactive":
        return False
    if not status:
        raise ValueError("missing status")
    raise ValueError(f"status {show(value.strip(), _SHOWN)} is not active or inactive")


def _clock_field(parse: Callable[[str], int], value: str, column: str) -> int:
    """A timestamp or time-of-day cell, its error naming the column and the value."""
    try:
        return parse(value)
    except ValueError as exc:
        if not value.strip():
            raise ValueError(f"missing {column}") from None
        raise ValueError(f"{column} {show(value.strip(), _SHOWN)}: {exc}") from None


def parse_day(value: str, column: str = "day") -> int:
    """Day of week `0`..`6` (0 = Monday)."""
    text = value.strip()
    if not text:
        raise ValueError(f"missing {column}")
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"{column} {show(text, _SHOWN)} is not an integer 0..6")
    day = int(text)
    if day > 6:
        raise ValueError(f"{column} {day} is outside 0..6 (0=Monday)")
    return day


def parse_timezone(value: str, column: str = "timezone_str") -> str:
    """An IANA zone name known to the installed database (checked by set membership)."""
    tz = value.strip()
    if not tz:
        raise ValueError(f"missing {column}")
    known = known_timezones()
    if tz in known:
        return tz
    hint = ""
    if len(tz) <= 64:
        folded = tz.lower()
        matches = sorted(name for name in known if name.lower() == folded)
        if matches:
            hint = f" (did you mean {matches[0]!r}?)"
    raise ValueError(f"{column} {show(tz, _SHOWN)} is not a known IANA time zone{hint}")


# --------------------------------------------------------------------------- rows


def _poll(fields: Sequence[str], header: Header) -> Poll:
    i_id, i_ts, i_status = header.positions
    store_id = parse_store_id(fields[i_id])
    ts_us = _clock_field(parse_timestamp, fields[i_ts], header.names[1])
    return (store_id, ts_us, parse_status(fields[i_status]))


def _hours(fields: Sequence[str], header: Header) -> HoursRow:
    i_id, i_day, i_start, i_end = header.positions
    _, day_name, start_name, end_name = header.names
    return (
        parse_store_id(fields[i_id]),
        parse_day(fields[i_day], day_name),
        _clock_field(parse_time_of_day, fields[i_start], start_name),
        _clock_field(parse_time_of_day, fields[i_end], end_name),
    )


def _timezone(fields: Sequence[str], header: Header) -> TimezoneRow:
    i_id, i_tz = header.positions
    return (parse_store_id(fields[i_id]), parse_timezone(fields[i_tz], header.names[1]))


def _special(fields: Sequence[str], header: Header) -> SpecialRow:
    i_id, i_date, i_start, i_end = header.positions
    _, date_name, start_name, end_name = header.names
    store_id = parse_store_id(fields[i_id])
    day = _clock_field(parse_local_date, fields[i_date], date_name)
    start, end = fields[i_start].strip(), fields[i_end].strip()
    if not start and not end:
        return (store_id, day, CLOSED, CLOSED)
    if not start or not end:
        raise ValueError(
            f"give both {start_name} and {end_name}, or leave both empty (closed that date)"
        )
    return (
        store_id,
        day,
        _clock_field(parse_time_of_day, start, start_name),
        _clock_field(parse_time_of_day, end, end_name),
    )


# The record of each source from a row of the header's width (`parse_row` checks the width).
_ROW_RULES: dict[str, Callable[[Sequence[str], Header], Any]] = {
    POLLS: _poll,
    HOURS: _hours,
    TIMEZONES: _timezone,
    SPECIAL: _special,
}


def parse_row(fields: Sequence[str], header: Header) -> Any:
    """One data row (its fields) -> the `Record` of `header.kind`; ValueError(reason) if bad.

    The one row rule of every source: polls `(store_id, ts_us, active)`, business hours and
    special hours `(store_id, day, start_us, end_us)`, time zones `(store_id, tz)`. The event
    decoders call it with a header in their own field names, so reasons name their fields.
    (Typed `Any`, not `Record`: each caller knows from its header which shape it gets.)
    """
    if len(fields) != header.width:
        raise ValueError(f"expected {header.width} fields, got {len(fields)}")
    return _ROW_RULES[header.kind](fields, header)


# --------------------------------------------------------------------------- lines


def raw_text(line: Line) -> str:
    """The raw line as text for a Rejection, at most ~RAW_LIMIT characters."""
    if isinstance(line, LongLine):
        text = line.head.decode("utf-8", "backslashreplace")[:RAW_LIMIT]
        return f"{text}... ({line.size} bytes)"
    if isinstance(line, bytes):
        text = line[: RAW_LIMIT * 4].decode("utf-8", "backslashreplace")
        size = len(line)
        unit = "bytes"
    else:
        text, size, unit = line, len(line), "chars"
    if len(text) > RAW_LIMIT:
        return f"{text[:RAW_LIMIT]}... ({size} {unit})"
    return text


def decode_line(data: bytes) -> str | bytes:
    """One line's bytes (no newline; a trailing CR is dropped) -> its text, or the bytes
    themselves when they are not UTF-8 (rejected later, with the line's number)."""
    if data.endswith(b"\r"):
        data = data[:-1]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def decode_lines(items: Iterable[bytes] | Iterable[str]) -> Iterator[Line]:
    """Lines given one by one (bytes or str, with or without terminator) -> Line values.

    This is how a caller tails a growing file or reads a request body: any iterable of lines,
    the first being the header (a generator that blocks for the next line works).
    """
    if isinstance(items, str | bytes | bytearray):
        raise TypeError(f"lines must be an iterable of lines, not {type(items).__name__}")
    first = True
    for item in items:
        if isinstance(item, bytes | bytearray):
            data = bytes(item)
            if first and data.startswith(BOM_BYTES):
                data = data[len(BOM_BYTES) :]
            if data.endswith(b"\n"):
                data = data[:-1]
            yield decode_line(data)
        elif isinstance(item, str):  # inlined, not a helper: one call less per line
            text = item
            if first and text.startswith(BOM):
                text = text[1:]
            if text.endswith("\n"):
                text = text[:-1]
            if text.endswith("\r"):
                text = text[:-1]
            yield text
        else:
            raise TypeError(f"lines must be bytes or str, not {type(item).__name__}")
        first = False


# --------------------------------------------------------------------------- records


def _read_header(kind: str, lines: Iterator[Line]) -> tuple[Header, int]:
    lineno = 0
    for line in lines:
        lineno += 1
        if isinstance(line, bytes | LongLine):
            raise HeaderError(f"{kind}: header line {lineno} is not valid UTF-8 or is too long")
        if not line.strip():
            continue
        try:
            fields = split_line(line)
        except csv.Error as exc:
            raise HeaderError(f"{kind}: header line {lineno} is not valid CSV: {exc}") from None
        return make_header(kind, fields), lineno
    raise HeaderError(f"{kind}: empty input, no header line")


def iter_records(kind: str, lines: Iterable[Line], name: str | None = None) -> Iterator[Any]:
    """Records and Rejections of one source (`POLLS`, `HOURS`, ...), in line order.

    `lines` are already decoded (`decode_lines`, or a file reader's lines); the first
    non-blank one is the header. Rejections are named `name` (default: `kind`).
    """
    name = name or kind
    lines = iter(lines)
    header, lineno = _read_header(kind, lines)
    row = _ROW_RULES[kind]
    width = header.width
    # Polls fast path (~2M rows per batch run), inlined here: ids of ASCII letters and digits
    # (always a match for STORE_ID_PATTERN when at most 128 long), timestamps shaped exactly
    # `YYYY-MM-DD HH:MM:SS.ffffff UTC` (validated in C by datetime.fromisoformat, range
    # checked after) and lower-case statuses. Anything else goes through `row`, which explains.
    fast_polls = kind == POLLS
    i_id, i_ts, i_status = header.positions if fast_polls else (0, 0, 0)
    fromisoformat = datetime.fromisoformat
    epoch = datetime(1970, 1, 1)
    one_us = timedelta(microseconds=1)
    max_us = MAX_TS_US
    while True:
        restart: list[Line] | None = None
        for line in lines:
            lineno += 1
            if line.__class__ is str and '"' not in line and len(line) <= MAX_LINE_CHARS:
                fields = line.split(",")
                if len(fields) == width:
                    if fast_polls:
                        store_id = fields[i_id]
                        ts = fields[i_ts]
                        if (
                            len(ts) == 30
                            and ts[26:] == " UTC"
                            and ts[4:20:3] == "-- ::."  # [4] [7] [10] [13] [16] [19]
                            and len(store_id) <= 128
                            and store_id.isalnum()
                            and line.isascii()  # type: ignore[union-attr]
                        ):
                            try:
                                ts_us = (fromisoformat(ts[:26]) - epoch) // one_us
                            except (ValueError, TypeError):  # TypeError: it had an offset
                                ts_us = -1
                            if 0 <= ts_us < max_us:
                                status = fields[i_status]
                                if status == "active":
                                    yield (store_id, ts_us, True)
                                    continue
                                if status == "inactive":
                                    yield (store_id, ts_us, False)
                                    continue
                    try:
                        yield row(fields, header)
                    except ValueError as exc:
                        yield Rejection(name, lineno, raw_text(line), str(exc))
                    continue
            # Everything else: blank, wrong field count, undecodable, too long, quoted.
            items, lineno, restart = _other_line(line, lines, lineno, header, name)
            yield from items
            if restart is not None:
                break
        if restart is None:
            return
        lines = chain(restart, lines)


def _other_line(
    line: Line, lines: Iterator[Line], lineno: int, header: Header, name: str
) -> tuple[list[Any], int, list[Line] | None]:
    """The slow path of `iter_records` for one line that is not a plain well-formed row.

    Returns (records or Rejections, line number of the last line used, lines to read again).
    """
    if isinstance(line, LongLine | bytes):
        return [Rejection(name, lineno, raw_text(line), _unreadable(line))], lineno, None
    if not line.strip():
        return [], lineno, None  # blank line: skipped, see the module docstring
    if len(line) > MAX_LINE_CHARS:
        reason = f"line is too long ({len(line)} chars; limit {MAX_LINE_CHARS})"
        return [Rejection(name, lineno, raw_text(line), reason)], lineno, None
    if '"' not in line:
        reason = f"expected {header.width} fields, got {line.count(',') + 1}"
        return [Rejection(name, lineno, raw_text(line), reason)], lineno, None
    # A double quote: the csv module, possibly over several physical lines.
    parsed, taken = _quoted_record(line, lines)
    if isinstance(parsed, str):  # a reason: reject the first line, read the others again
        return [Rejection(name, lineno, raw_text(line), parsed)], lineno, taken or None
    raw = "\n".join([line, *taken]) if taken else line  # type: ignore[list-item]
    try:
        return [parse_row(parsed, header)], lineno + len(taken), None
    except ValueError as exc:
        return [Rejection(name, lineno, raw_text(raw), str(exc))], lineno + len(taken), None


def _unreadable(line: LongLine | bytes) -> str:
    """Why a line that never became text is rejected."""
    if isinstance(line, LongLine):
        return f"line is too long ({line.size} bytes; limit {MAX_LINE_CHARS})"
    try:
        line.decode("utf-8")
        return "invalid UTF-8"
    except UnicodeDecodeError as exc:
        return f"invalid UTF-8 (byte {exc.start})"


def _quoted_record(line: str, lines: Iterator[Line]) -> tuple[list[str] | str, list[Line]]:
    """Parse a record starting with `line`, pulling more lines while a quoted field is open.

    Returns (fields, the extra lines used) or (a reason, the extra lines to read again).
    """
    taken: list[Line] = []
    text = line
    while True:
        try:
            return next(csv.reader([text], strict=True)), taken
        except csv.Error as exc:
            message = str(exc)
        if "unexpected end of data" not in message:
            if taken:  # the quote opened on the first line was never properly closed
                return "unterminated quoted field", taken
            return f"malformed CSV quoting: {message}", taken
        if len(taken) + 1 >= MAX_RECORD_LINES or len(text) > MAX_LINE_CHARS:
            return "unterminated quoted field", taken
        nxt = next(lines, None)
        if nxt is None:
            return "unterminated quoted field at end of input", taken
        taken.append(nxt)
        if not isinstance(nxt, str) or len(text) + len(nxt) > MAX_LINE_CHARS:
            return "unterminated quoted field", taken
        text = f"{text}\n{nxt}"
