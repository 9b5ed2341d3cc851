"""The Kafka message format, shared by producers and the worker (pure: bytes in, bytes out).

* polls topic, key = store id: ``{"polls": [[ts_us, 1|0], ...]}`` (many polls of one store)
* hours topic (compacted), key = store id: ``{"hours": [[day, start_us, end_us], ...]}``,
  the store's full set; ``null`` value (a tombstone) means "no rows" (open 24x7)
* time zone topic (compacted), key = store id: ``{"tz": "America/New_York"}``
* dead-letter topic, key = source: ``{"source", "line", "reason", "raw", "at"}``

Everything read from a topic is validated again: anyone can write to a topic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from streamproc.core.records import US_PER_DAY, Rejection, is_valid_store_id
from streamproc.core.timezones import is_known_timezone

MIN_TS_US = 0  # 1970-01-01
MAX_TS_US = 4_102_444_800 * 1_000_000  # 2100-01-01
MAX_POLLS_PER_MESSAGE = 100_000
MAX_HOURS_ROWS = 7 * 48
MAX_RAW_CHARS = 500


class WireError(ValueError):
    """A message that cannot be applied; the reason goes to the dead-letter topic."""


def encode_polls(polls: Sequence[tuple[int, bool]]) -> bytes:
    return orjson.dumps({"polls": [[ts, 1 if up else 0] for ts, up in polls]})


def encode_hours(rows: Sequence[tuple[int, int, int]] | None) -> bytes | None:
    return None if not rows else orjson.dumps({"hours": [list(r) for r in rows]})


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


def _load(value: bytes | None, field: str) -> Any:
    if value is None:
        raise WireError("message has no value")
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise WireError(f"value is not JSON: {exc}") from None
    if not isinstance(doc, dict) or field not in doc:
        raise WireError(f"value must be a JSON object with a {field!r} field")
    return doc[field]


def decode_polls(value: bytes | None) -> list[tuple[int, bool]]:
    items = _load(value, "polls")
    if not isinstance(items, list) or len(items) > MAX_POLLS_PER_MESSAGE:
        raise WireError(f"'polls' must be a list of at most {MAX_POLLS_PER_MESSAGE} pairs")
    polls = []
    for item in items:
        if (
            not isinstance(item, list)
            or len(item) != 2
            or type(item[0]) is not int
            or item[1] not in (0, 1)
            or isinstance(item[1], bool)
        ):
            raise WireError(f"bad poll {str(item)[:80]}: expected [ts_us, 1|0]")
        if not MIN_TS_US <= item[0] < MAX_TS_US:
            raise WireError(f"poll timestamp {item[0]} out of range 1970..2100")
        polls.append((item[0], item[1] == 1))
    return polls


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


def decode_timezone(value: bytes | None) -> str:
    tz = _load(value, "tz")
    if not isinstance(tz, str) or not is_known_timezone(tz):
        raise WireError(f"unknown time zone {str(tz)[:80]!r}")
    return tz
