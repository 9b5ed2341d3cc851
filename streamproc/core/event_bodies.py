"""Bodies of ``POST /events`` (pure: bytes in, events and rejections out).

A poller that cannot speak Kafka sends a batch of events over HTTP, either as NDJSON (one
event of docs/events.md per line, exactly what it would publish to ``store-events``) or as one
of the four CSV files (the header says which). Each line is checked by the same rules as a
Kafka event or a CSV row, so a body is never accepted or refused as a whole (like a bulk API): the
caller learns which lines were rejected and why, the rest is kept. A CSV whose header is none
of the four files is one rejected line. Only an empty body, or one of another media type, is
refused whole.

A CSV of business hours is read like ``streamproc replay`` reads it: the rows of one store are
that store's whole weekly set (replacing the previous one), a rejected row is left out of it.
A CSV of special hours likewise: the rows of one store are all its special dates.
"""

from __future__ import annotations

import json
from typing import NamedTuple

from streamproc.core.events import (
    Event,
    HoursEvent,
    PollEvent,
    SpecialHoursEvent,
    TimezoneEvent,
    decode_document,
    decode_event,
    load_json,
)
from streamproc.core.parsing import (
    HOURS,
    POLLS,
    SPECIAL,
    TIMEZONES,
    HeaderError,
    decode_lines,
    iter_records,
    make_header,
    split_line,
)
from streamproc.core.records import Rejection, split_records
from streamproc.core.wire import MAX_HOURS_ROWS, MAX_SPECIAL_ROWS

NDJSON = "ndjson"
JSON = "json"
CSV = "csv"
# Media types a body may be sent as, and how each is read.
MEDIA_TYPES = {
    "application/x-ndjson": NDJSON,
    "application/ndjson": NDJSON,
    "application/jsonl": NDJSON,
    "application/json": JSON,  # one event object, or an array of them
    "text/csv": CSV,
}
RAW_LIMIT = 300  # characters of a rejected line kept in its Rejection


class BodyError(ValueError):
    """The body as a whole cannot be read: a media type not listed here, or not JSON."""


class Batch(NamedTuple):
    """What a body holds: the accepted events in order, and a Rejection per bad line."""

    events: list[Event]
    rejections: list[Rejection]


def decode_body(body: bytes, media_type: str, source: str = "POST /events") -> Batch:
    """``body`` sent as ``media_type`` -> its events and rejections (BodyError if unreadable)."""
    if not body and not media_type:
        raise BodyError("no request body: send one event per line (NDJSON) or a CSV file")
    kind = MEDIA_TYPES.get(media_type.lower() or "application/x-ndjson")
    if kind is None:
        expected = ", ".join(sorted(MEDIA_TYPES))
        raise BodyError(f"unsupported Content-Type {media_type!r}; expected one of {expected}")
    if kind == JSON:
        return decode_json(body, source)
    return decode_ndjson(body, source) if kind == NDJSON else decode_csv(body, source)


def decode_json(body: bytes, source: str = "POST /events") -> Batch:
    """One JSON document: an event object, or an array of them (``line`` = 1-based index)."""
    try:
        doc = load_json(body, limit=len(body))
    except ValueError as exc:
        raise BodyError(f"an application/json body must be JSON: {exc}") from None
    if not isinstance(doc, dict | list):
        raise BodyError("an application/json body is one event object or an array of them")
    events: list[Event] = []
    rejections: list[Rejection] = []
    for n, item in enumerate(doc if isinstance(doc, list) else [doc], start=1):
        event = decode_document(item)
        if isinstance(event, str):
            raw = json.dumps(item)[:RAW_LIMIT]
            rejections.append(Rejection(source, n, raw, event))
        else:
            events.append(event)
    return Batch(events, rejections)


def decode_ndjson(body: bytes, source: str = "POST /events") -> Batch:
    """One event per line (blank lines skipped); line numbers are 1-based."""
    events: list[Event] = []
    rejections: list[Rejection] = []
    for lineno, line in enumerate(body.split(b"\n"), start=1):
        line = line.rstrip(b"\r")
        if not line.strip():
            continue
        event = decode_event(line)
        if isinstance(event, str):
            raw = line[:RAW_LIMIT].decode("utf-8", "replace")
            rejections.append(Rejection(source, lineno, raw, event))
        else:
            events.append(event)
    return Batch(events, rejections)


def decode_csv(body: bytes, source: str = "POST /events") -> Batch:
    """A polls, business-hours, time-zone or special-hours CSV (found from its header)."""
    if not body.strip():
        return Batch([], [])
    lines = body.split(b"\n")
    try:
        kind = csv_kind(lines[0])
    except BodyError as exc:  # reported like a bad line: the caller sees why, nothing is kept
        raw = lines[0][:RAW_LIMIT].decode("utf-8", "replace")
        return Batch([], [Rejection(source, 1, raw, str(exc))])
    records, rejections = split_records(iter_records(kind, decode_lines(lines), source))
    if kind == POLLS:
        return Batch([PollEvent(*p) for p in records], rejections)
    if kind == TIMEZONES:
        return Batch([TimezoneEvent(*z) for z in records], rejections)
    if kind == SPECIAL:
        return _row_sets(records, rejections, source, SpecialHoursEvent, MAX_SPECIAL_ROWS)
    return _row_sets(records, rejections, source, HoursEvent, MAX_HOURS_ROWS)


def _row_sets(rows: list[tuple[str, int, int, int]], rejections: list[Rejection], source: str,
              make: type[HoursEvent] | type[SpecialHoursEvent], limit: int) -> Batch:
    """One event per store with its rows of this body (its whole set), within ``limit``."""
    events: list[Event] = []
    what = "hours" if make is HoursEvent else "special hours"
    for store_id, store_rows in _per_store(rows).items():
        if len(store_rows) > limit:
            reason = (f"store {store_id} has {len(store_rows)} {what} rows; at most "
                      f"{limit} are accepted (its rows were all left out)")
            rejections.append(Rejection(source, 0, store_id, reason))
        else:
            events.append(make(store_id, tuple(store_rows)))
    return Batch(events, rejections)


def csv_kind(header_line: bytes) -> str:
    """Which of the four CSV files a header line starts; BodyError if none."""
    try:
        fields = split_line(header_line.decode("utf-8-sig").rstrip("\r"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BodyError(f"the CSV header line cannot be read: {exc}") from None
    for kind in (POLLS, HOURS, TIMEZONES, SPECIAL):
        try:
            make_header(kind, fields)
        except HeaderError:
            continue
        return kind
    raise BodyError(
        f"the CSV header {fields[:8]} is none of: store_id,timestamp_utc,status (polls); "
        "store_id,day,start_time_local,end_time_local (hours); store_id,timezone_str (zones); "
        "store_id,date,start_time_local,end_time_local (special hours)")


def _per_store(rows: list[tuple[str, int, int, int]]) -> dict[str, list[tuple[int, int, int]]]:
    """Each store's rows of this body, in order: its whole set (weekly or special)."""
    per_store: dict[str, list[tuple[int, int, int]]] = {}
    for store_id, day, start, end in rows:
        per_store.setdefault(store_id, []).append((day, start, end))
    return per_store
