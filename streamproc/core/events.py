"""The public event format of the ``store-events`` topic (pure: bytes in, an event or a reason).

Pollers and back offices publish one JSON object per message, with the CSV files' own field
names (docs/events.md, schemas in docs/events/):

* ``{"type": "poll", "store_id", "status", "timestamp_utc"}``
* ``{"type": "hours", "store_id", "hours": [{"day", "start_time_local", "end_time_local"}]}``,
  the store's whole weekly set (``[]`` = no rows = open 24x7)
* ``{"type": "timezone", "store_id", "timezone_str"}``
* ``{"type": "special_hours", "store_id", "special_hours": [{"date", "start_time_local",
  "end_time_local"}]}``, all of the store's special dates (both times empty or null: closed
  that date; ``[]`` = no special dates)

Every field is checked by the CSV parsers of `parsing` (same rules, same messages); on top of
them the object must be strict JSON (UTF-8, no duplicate names, no NaN), of a known type, with
every field present, of the right JSON type, and no unknown field. `decode_event` returns the
parsed event or, for anything else, the reason as a string such as
``"poll: timestamp_utc '2023-13-01 00:00:00': month 13 is outside 01..12"``.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from streamproc.core.parsing import (
    HOURS,
    POLLS,
    SPECIAL,
    TIMEZONES,
    make_header,
    parse_row,
    parse_store_id,
)
from streamproc.core.wire import MAX_HOURS_ROWS, MAX_SPECIAL_ROWS

MAX_EVENT_BYTES = 64 * 1024

POLL_FIELDS = ("store_id", "timestamp_utc", "status")
HOURS_FIELDS = ("store_id", "hours")
ROW_FIELDS = ("day", "start_time_local", "end_time_local")
TIMEZONE_FIELDS = ("store_id", "timezone_str")
SPECIAL_FIELDS = ("store_id", "special_hours")
SPECIAL_ROW_FIELDS = ("date", "start_time_local", "end_time_local")

# CSV headers in the events' own field names, so the CSV row parsers name the event's fields.
_POLL_HEADER = make_header(POLLS, POLL_FIELDS)
_HOURS_HEADER = make_header(HOURS, ("store_id", *ROW_FIELDS))
_TIMEZONE_HEADER = make_header(TIMEZONES, TIMEZONE_FIELDS)
_SPECIAL_HEADER = make_header(SPECIAL, ("store_id", *SPECIAL_ROW_FIELDS))


class PollEvent(NamedTuple):
    store_id: str
    ts_us: int
    active: bool


class HoursEvent(NamedTuple):
    store_id: str
    rows: tuple[tuple[int, int, int], ...]  # (day, start_us, end_us); () = open 24x7


class TimezoneEvent(NamedTuple):
    store_id: str
    tz: str


class SpecialHoursEvent(NamedTuple):
    store_id: str
    rows: tuple[tuple[int, int, int], ...]  # (local date as days since 1970, start, end)


Event = PollEvent | HoursEvent | TimezoneEvent | SpecialHoursEvent


class _Bad(ValueError):
    """A reason to reject the event (without the type prefix)."""


def decode_event(value: bytes | None) -> Event | str:
    """One message value -> the event it carries, or the reason it is rejected."""
    try:
        doc = load_json(value)
    except ValueError as exc:
        return str(exc)
    return decode_document(doc)


def decode_document(doc: Any) -> Event | str:
    """One parsed JSON value (of :func:`load_json`) -> its event, or the reason it is not one."""
    if not isinstance(doc, dict):
        return f"value must be a JSON object, not {_json_type(doc)}"
    kind = doc.get("type")
    decoder = _DECODERS.get(kind) if isinstance(kind, str) else None
    if decoder is None:
        if "type" not in doc:
            return f"missing field 'type' (expected one of {_TYPES})"
        return f"unknown type {_show(kind)}: expected one of {_TYPES}"
    try:
        return decoder(doc)
    except ValueError as exc:
        return f"{kind}: {exc}"


def load_json(value: bytes | None, limit: int = MAX_EVENT_BYTES) -> Any:
    """Strict JSON (UTF-8, no duplicate names, no NaN, at most ``limit`` bytes) -> the value;
    ValueError with the reason otherwise."""
    if value is None:
        raise _Bad("message has no value (expected a JSON event)")
    if len(value) > limit:
        raise _Bad(f"event is {len(value)} bytes; at most {limit} are accepted")
    try:
        text = bytes(value).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Bad(f"value is not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        doc = json.loads(text, object_pairs_hook=_object, parse_constant=_constant)
    except _Bad:
        raise
    except (ValueError, RecursionError) as exc:
        raise _Bad(f"value is not JSON: {str(exc)[:120]}") from None
    return doc


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    doc = dict(pairs)
    if len(doc) != len(pairs):
        seen: set[str] = set()
        dupes = sorted({k for k, _ in pairs if k in seen or seen.add(k)})
        raise _Bad(f"duplicate field {', '.join(map(_show, dupes))} in a JSON object")
    return doc


def _constant(name: str) -> None:
    raise _Bad(f"value is not JSON: {name} is not a JSON number")


def _fields(doc: dict[str, Any], names: tuple[str, ...], where: str = "") -> None:
    """Exactly ``names`` (plus ``type`` at the top), each present."""
    allowed = set(names) | ({"type"} if not where else set())
    unknown = [k for k in doc if k not in allowed]
    if unknown:
        raise ValueError(f"{where}unknown field {', '.join(map(_show, unknown))}; "
                         f"expected {', '.join(names)}")
    missing = [k for k in names if k not in doc]
    if missing:
        raise ValueError(f"{where}missing field {', '.join(map(_show, missing))}")


def _text(doc: dict[str, Any], name: str, where: str = "") -> str:
    value = doc[name]
    if not isinstance(value, str):
        raise ValueError(f"{where}{name} must be a string, not {_json_type(value)}")
    return value


def _poll(doc: dict[str, Any]) -> PollEvent:
    _fields(doc, POLL_FIELDS)
    cells = [_text(doc, name) for name in POLL_FIELDS]
    return PollEvent(*parse_row(cells, _POLL_HEADER))


def _hours(doc: dict[str, Any]) -> HoursEvent:
    _fields(doc, HOURS_FIELDS)
    return HoursEvent(*_store_rows(doc, "hours", MAX_HOURS_ROWS, _hours_row))


def _store_rows(doc: dict[str, Any], name: str, limit: int,
                parse_row: Any) -> tuple[str, tuple[tuple[int, int, int], ...]]:
    """``(store id, rows)`` of an event whose field ``name`` lists a store's rows."""
    store_cell = _text(doc, "store_id")
    rows = doc[name]
    if not isinstance(rows, list):
        raise ValueError(f"{name} must be a list of rows, not {_json_type(rows)}")
    if len(rows) > limit:
        raise ValueError(f"{name} has {len(rows)} rows; at most {limit} are accepted")
    store_id = parse_store_id(store_cell)
    return store_id, tuple(parse_row(store_id, row, f"{name}[{i}]: ")
                           for i, row in enumerate(rows))


def _hours_row(store_id: str, row: object, where: str) -> tuple[int, int, int]:
    if not isinstance(row, dict):
        raise ValueError(f"{where}must be an object {{day, start_time_local, end_time_local}}, "
                         f"not {_json_type(row)}")
    _fields(row, ROW_FIELDS, where)
    day = row["day"]
    if type(day) is float and day.is_integer():  # JSON Schema's integer: 2.0 is 2
        day = int(day)
    if type(day) is not int:
        raise ValueError(f"{where}day must be an integer 0..6, not {_json_type(day)}")
    cells = [store_id, str(day), _text(row, "start_time_local", where),
             _text(row, "end_time_local", where)]
    try:
        _, day_, start, end = parse_row(cells, _HOURS_HEADER)
    except ValueError as exc:
        raise ValueError(f"{where}{exc}") from None
    return day_, start, end


def _timezone(doc: dict[str, Any]) -> TimezoneEvent:
    _fields(doc, TIMEZONE_FIELDS)
    cells = [_text(doc, name) for name in TIMEZONE_FIELDS]
    return TimezoneEvent(*parse_row(cells, _TIMEZONE_HEADER))


def _special_hours(doc: dict[str, Any]) -> SpecialHoursEvent:
    _fields(doc, SPECIAL_FIELDS)
    return SpecialHoursEvent(*_store_rows(doc, "special_hours", MAX_SPECIAL_ROWS, _special_row))


def _special_row(store_id: str, row: object, where: str) -> tuple[int, int, int]:
    """One row, checked by the CSV's row parser; a null time is an empty cell."""
    if not isinstance(row, dict):
        raise ValueError(f"{where}must be an object {{date, start_time_local, end_time_local}}"
                         f", not {_json_type(row)}")
    _fields(row, SPECIAL_ROW_FIELDS, where)
    date_cell = _text(row, "date", where)
    times = ["" if row[name] is None else _text(row, name, where)
             for name in SPECIAL_ROW_FIELDS[1:]]
    try:
        _, day, start, end = parse_row([store_id, date_cell, *times], _SPECIAL_HEADER)
    except ValueError as exc:
        raise ValueError(f"{where}{exc}") from None
    return day, start, end


_DECODERS = {"poll": _poll, "hours": _hours, "timezone": _timezone,
             "special_hours": _special_hours}
_TYPES = ", ".join(repr(t) for t in _DECODERS)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _show(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"
