"""The Kafka message format, shared by producers and the worker (pure: bytes in, bytes out).

* polls topic, key = store id: ``{"t": [ts_us, ...], "a": [1|0, ...]}``: many polls of one
  store as two parallel columns (timestamps, active flags), cheap to validate in bulk
* polls topic, no key ("packed"): ``{"stores": {"<store id>": {"t": [...], "a": [...]}, ...}}``,
  many stores of one partition in one message, for live replays where each store has only a
  poll or two per send (the worker's cost is per message); every store in it must belong to
  the message's partition (Kafka's default partitioner on the store id)
* hours topic (compacted), key = store id: ``{"hours": [[day, start_us, end_us], ...]}``,
  the store's full set; ``null`` value (a tombstone) means "no rows" (open 24x7)
* time zone topic (compacted), key = store id: ``{"tz": "America/New_York"}``
* special hours topic (compacted), key = store id:
  ``{"special": [["2026-12-25", null, null], ["2026-12-31", start_us, end_us], ...]}``, all
  of the store's special dates (null times: closed that date); a tombstone means none
* dead-letter topic, key = source: ``{"source", "line", "reason", "raw", "at"}``

Everything read from a topic is validated again: anyone can write to a topic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from streamproc.core.hours import CLOSED
from streamproc.core.records import US_PER_DAY, Rejection, is_valid_store_id
from streamproc.core.timeparse import format_local_date, parse_local_date
from streamproc.core.timezones import is_known_timezone

MIN_TS_US = 0  # 1970-01-01
MAX_TS_US = 4_102_444_800 * 1_000_000  # 2100-01-01
MAX_POLLS_PER_MESSAGE = 100_000  # also the most polls of all stores in a packed message
MAX_HOURS_ROWS = 7 * 48
MAX_SPECIAL_ROWS = 10_000  # about 27 years of special dates, a few rows a date
MAX_RAW_CHARS = 500


class WireError(ValueError):
    """A message that cannot be applied; the reason goes to the dead-letter topic."""


def encode_polls(polls: Sequence[tuple[int, bool]]) -> bytes:
    return orjson.dumps({"t": [ts for ts, _ in polls], "a": [1 if up else 0 for _, up in polls]})


def encode_hours(rows: Sequence[tuple[int, int, int]] | None) -> bytes | None:
    return None if not rows else orjson.dumps({"hours": [list(r) for r in rows]})


def encode_special(rows: Sequence[tuple[int, int, int]] | None) -> bytes | None:
    """A store's special rows (day number, start_us, end_us) as the topic's value."""
    if not rows:
        return None
    out = [[format_local_date(d), None if s == CLOSED else s, None if e == CLOSED else e]
           for d, s, e in rows]
    return orjson.dumps({"special": out})


def encode_timezone(tz: str) -> bytes:
    return orjson.dumps({"tz": tz})


def encode_rejection(rejection: Rejection, at_us: int | None = None) -> bytes:
    return orjson.dumps(
        {
            "source": rejection.source,
            "line": rejection.line,
            "reason": rejection.reason,
            "raw": rejection.raw[:MAX_RAW_CHARS],
            "at": at_us,
        }
    )


def decode_key(key: bytes | None) -> str:
    if not key:
        raise WireError("message has no key (expected a store id)")
    try:
        store_id = key.decode("utf-8")
    except UnicodeDecodeError:
        raise WireError("key is not valid UTF-8") from None
    if not is_valid_store_id(store_id):
        raise WireError(f"key {store_id[:80]!r} is not a safe store id")
    return store_id


def _document(value: bytes | None) -> dict:
    if value is None:
        raise WireError("message has no value")
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise WireError(f"value is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise WireError("value must be a JSON object")
    return doc


def _load(value: bytes | None, field: str) -> Any:
    doc = _document(value)
    if field not in doc:
        raise WireError(f"value must be a JSON object with a {field!r} field")
    return doc[field]


def decode_polls(value: bytes | None) -> list[tuple[int, int]]:
    """Validate a polls message column-wise (C-level checks; no per-poll Python branches)."""
    return _poll_columns(_document(value))


def _poll_columns(doc: object) -> list[tuple[int, int]]:
    if not isinstance(doc, dict) or not isinstance(doc.get("t"), list):
        raise WireError("value must be a JSON object with 't' (timestamps) and 'a' (flags) lists")
    ts, flags = doc["t"], doc.get("a")
    if not isinstance(flags, list) or len(flags) != len(ts):
        raise WireError("'t' and 'a' must be lists of the same length")
    if len(ts) > MAX_POLLS_PER_MESSAGE:
        raise WireError(f"more than {MAX_POLLS_PER_MESSAGE} polls in one message")
    if not ts:
        return []
    if set(map(type, ts)) != {int}:
        raise WireError("every timestamp in 't' must be an integer of microseconds")
    if min(ts) < MIN_TS_US or max(ts) >= MAX_TS_US:
        raise WireError(f"poll timestamp out of range 1970..2100 ({min(ts)}..{max(ts)})")
    if set(map(type, flags)) != {int} or not set(flags) <= {0, 1}:
        raise WireError("every flag in 'a' must be 1 (active) or 0 (inactive)")
    return list(zip(ts, flags, strict=True))  # flags stay 1/0: truthy like bools


def encode_packed_polls(groups: Mapping[str, Sequence[tuple[int, bool]]]) -> bytes:
    """Many stores' polls in one keyless message (see the module docstring)."""
    return orjson.dumps({"stores": {
        store_id: {"t": [ts for ts, _ in polls], "a": [1 if up else 0 for _, up in polls]}
        for store_id, polls in groups.items()
    }})


def decode_packed_polls(
    value: bytes | None,
) -> tuple[list[tuple[str, list[tuple[int, int]]]], list[str]]:
    """``(store id, polls)`` per good entry, and a reason per bad entry (the good ones are
    still applied); WireError when the message as a whole is not a packed polls message."""
    stores = _document(value).get("stores")
    if not isinstance(stores, dict):
        raise WireError("message has no key (a store id) and is not a packed message "
                        "{\"stores\": {store_id: {\"t\": [...], \"a\": [...]}}}")
    good: list[tuple[str, list[tuple[int, int]]]] = []
    bad: list[str] = []
    total = 0
    for store_id, columns in stores.items():
        if not is_valid_store_id(store_id):
            bad.append(f"store id {store_id[:80]!r} is not a safe store id")
            continue
        try:
            polls = _poll_columns(columns)
        except WireError as exc:
            bad.append(f"store {store_id}: {exc}")
            continue
        total += len(polls)
        if total > MAX_POLLS_PER_MESSAGE:
            raise WireError(f"more than {MAX_POLLS_PER_MESSAGE} polls in one packed message")
        good.append((store_id, polls))
    return good, bad


def decode_hours(value: bytes | None) -> list[tuple[int, int, int]] | None:
    if value is None:
        return None
    rows = _load(value, "hours")
    if not isinstance(rows, list) or len(rows) > MAX_HOURS_ROWS:
        raise WireError(f"'hours' must be a list of at most {MAX_HOURS_ROWS} rows")
    out = []
    for row in rows:
        if not (isinstance(row, list) and len(row) == 3 and all(type(x) is int for x in row)):
            raise WireError(f"bad hours row {str(row)[:80]}: expected [day, start_us, end_us]")
        day, start, end = row
        if not 0 <= day <= 6:
            raise WireError(f"day {day} out of range 0..6")
        if not (0 <= start < US_PER_DAY and 0 <= end < US_PER_DAY):
            raise WireError("start/end must be microseconds within a day")
        out.append((day, start, end))
    return out or None


def decode_special(value: bytes | None) -> list[tuple[int, int, int]] | None:
    """Rows ``(day number, start_us, end_us)``, CLOSED times for a closed date; None: none."""
    if value is None:
        return None
    rows = _load(value, "special")
    if not isinstance(rows, list) or len(rows) > MAX_SPECIAL_ROWS:
        raise WireError(f"'special' must be a list of at most {MAX_SPECIAL_ROWS} rows")
    return [_special_row(row) for row in rows] or None


def _special_row(row: object) -> tuple[int, int, int]:
    if not (isinstance(row, list) and len(row) == 3 and isinstance(row[0], str)):
        raise WireError(f"bad special row {str(row)[:80]}: expected [date, start_us, end_us]")
    try:
        day = parse_local_date(row[0])
    except ValueError as exc:
        raise WireError(f"bad special row {str(row)[:80]}: {exc}") from None
    start, end = row[1], row[2]
    if start is None and end is None:
        return (day, CLOSED, CLOSED)
    if not (type(start) is int and type(end) is int):
        raise WireError(f"bad special row {str(row)[:80]}: times must be both null or both µs")
    if not (0 <= start < US_PER_DAY and 0 <= end < US_PER_DAY):
        raise WireError("start/end must be microseconds within a day")
    return (day, start, end)


def decode_timezone(value: bytes | None) -> str:
    tz = _load(value, "tz")
    if not isinstance(tz, str) or not is_known_timezone(tz):
        raise WireError(f"unknown time zone {str(tz)[:80]!r}")
    return tz
