"""Timestamps and local times of day as integer microseconds (see docs/conventions.md).

`parse_timestamp` accepts the UTC forms listed in the contract
(docs/semantics.md, "Inputs"):

    2023-01-22 12:09:39.388884 UTC     (the real data; fast path)
    2023-01-22 12:09:39 UTC
    2023-01-22 12:09:39                (no zone: taken as UTC)
    2023-01-22T12:09:39Z
    2023-01-22T12:09:39.5+00:00

with 1 to 6 fractional digits and optional surrounding whitespace. A numeric ISO offset
(`+05:30`, `-0800`, `+01`) is unambiguous and is converted to UTC. Named zones other than
`UTC`/`Z` (`EST`, `CET`, ...) are rejected, as are years outside 1970..2100 and anything else;
every rejection is a `ValueError` whose message says what is wrong.

The fast path handles the exact shape `YYYY-MM-DD HH:MM:SS.ffffff UTC` with two small caches
(date -> microseconds of midnight, `HH:MM:SS` -> microseconds): both hold only valid keys,
so they are bounded (at most ~48k dates in 1970..2100 and 86,400 times of day).
"""

from __future__ import annotations

import re
from datetime import date

from streamproc.core.records import US_PER_DAY, US_PER_HOUR, US_PER_MINUTE, US_PER_SECOND

MIN_YEAR = 1970
MAX_YEAR = 2100
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
MAX_TS_US = (date(MAX_YEAR + 1, 1, 1).toordinal() - _EPOCH_ORDINAL) * US_PER_DAY

# Caches of the fast path; only valid keys are ever stored.
_DATE_CACHE: dict[str, int] = {}
_HMS_CACHE: dict[str, int] = {}
# Times of day of hours files (a few hundred distinct values in the real fleet's 86k rows);
# capped, since a time may carry any fraction of a second.
_TOD_CACHE: dict[str, int] = {}
_TOD_CACHE_MAX = 100_000

_TIMESTAMP_RE = re.compile(
    r"""
    (?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})
    [Tt\ ]
    (?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})
    (?:\.(?P<frac>\d+))?
    \ ?
    (?:
        (?P<utc>(?i:z|utc))
      | (?P<sign>[+-])(?P<off_h>\d{2})(?::?(?P<off_m>\d{2}))?
      | (?P<zone>[A-Za-z][A-Za-z0-9_/+-]*)
    )?
    """,
    re.VERBOSE | re.ASCII,
)

_TIME_OF_DAY_RE = re.compile(
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.(?P<frac>\d{1,6}))?)?",
    re.ASCII,
)


def show(text: str, limit: int = 60) -> str:
    """repr() of a bad value for an error message, shortened if long (a 10 MB cell must not
    make a 10 MB reason). The one helper for the CSV rules too (`parsing` passes its limit)."""
    if len(text) > limit:
        return repr(text[:limit]) + f"... ({len(text)} chars)"
    return repr(text)


def _midnight_us(ymd: str) -> int:
    """`YYYY-MM-DD` (already known to be ASCII) -> microseconds of its UTC midnight."""
    cached = _DATE_CACHE.get(ymd)
    if cached is not None:
        return cached
    if not (
        len(ymd) == 10
        and ymd[4] == "-"
        and ymd[7] == "-"
        and ymd[:4].isdigit()
        and ymd[5:7].isdigit()
        and ymd[8:].isdigit()
    ):
        raise ValueError(f"date {show(ymd)} is not YYYY-MM-DD")
    value = _date_us(int(ymd[:4]), int(ymd[5:7]), int(ymd[8:]))
    _DATE_CACHE[ymd] = value
    return value


def _date_us(year: int, month: int, day: int) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"year {year} is outside {MIN_YEAR}..{MAX_YEAR}")
    if not 1 <= month <= 12:
        raise ValueError(f"month {month:02d} is outside 01..12")
    try:
        ordinal = date(year, month, day).toordinal()
    except ValueError:
        raise ValueError(f"day {day:02d} does not exist in {year:04d}-{month:02d}") from None
    return (ordinal - _EPOCH_ORDINAL) * US_PER_DAY


def _hms_us(hms: str) -> int:
    """`HH:MM:SS` (already known to be ASCII) -> microseconds since midnight."""
    cached = _HMS_CACHE.get(hms)
    if cached is not None:
        return cached
    if not (
        len(hms) == 8
        and hms[2] == ":"
        and hms[5] == ":"
        and hms[:2].isdigit()
        and hms[3:5].isdigit()
        and hms[6:].isdigit()
    ):
        raise ValueError(f"time {show(hms)} is not HH:MM:SS")
    value = _clock_us(int(hms[:2]), int(hms[3:5]), int(hms[6:]))
    _HMS_CACHE[hms] = value
    return value


def _clock_us(hour: int, minute: int, second: int) -> int:
    if hour > 23:
        raise ValueError(f"hour {hour:02d} is outside 00..23")
    if minute > 59:
        raise ValueError(f"minute {minute:02d} is outside 00..59")
    if second > 59:
        raise ValueError(f"second {second:02d} is outside 00..59")
    return hour * US_PER_HOUR + minute * US_PER_MINUTE + second * US_PER_SECOND


def parse_timestamp(text: str) -> int:
    """A UTC timestamp in one of the accepted forms -> microseconds since the epoch.

    Raises ValueError with a specific reason for anything else.
    """
    # Fast path: exactly `YYYY-MM-DD HH:MM:SS.ffffff UTC` (30 ASCII characters).
    # Any irregularity falls through to the general path, which explains it.
    if (
        len(text) == 30
        and text[26:] == " UTC"
        and text[10] == " "
        and text[19] == "."
        and text.isascii()
    ):
        frac = text[20:26]
        if frac.isdigit():
            try:
                return _midnight_us(text[:10]) + _hms_us(text[11:19]) + int(frac)
            except ValueError:
                pass
    return _parse_timestamp_general(text)


def _parse_timestamp_general(text: str) -> int:
    if not isinstance(text, str):
        raise TypeError(f"timestamp must be str, not {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise ValueError("empty timestamp")
    if not stripped.isascii():
        raise ValueError("timestamp contains non-ASCII characters")
    m = _TIMESTAMP_RE.fullmatch(stripped)
    if m is None:
        raise ValueError(
            "not a timestamp: expected 'YYYY-MM-DD HH:MM:SS[.ffffff] UTC' "
            "or ISO 8601 with Z or +HH:MM"
        )
    zone = m["zone"]
    if zone is not None:
        raise ValueError(f"time zone {zone!r} is not supported: timestamps must be UTC")
    frac = m["frac"]
    if frac is not None and len(frac) > 6:
        raise ValueError(f"fractional seconds {frac!r} have more than 6 digits")
    ts = _date_us(int(m["year"]), int(m["month"]), int(m["day"]))
    ts += _clock_us(int(m["hour"]), int(m["minute"]), int(m["second"]))
    if frac:
        ts += int(frac.ljust(6, "0"))
    if m["sign"] is not None:
        off_h = int(m["off_h"])
        off_m = int(m["off_m"] or 0)
        if off_h > 18 or off_m > 59:
            raise ValueError(f"UTC offset {stripped[m.start('sign') :]!r} is out of range")
        offset = off_h * US_PER_HOUR + off_m * US_PER_MINUTE
        # Local time = UTC + offset, so UTC = local - offset.
        ts = ts - offset if m["sign"] == "+" else ts + offset
        if not 0 <= ts < MAX_TS_US:
            raise ValueError(f"outside years {MIN_YEAR}..{MAX_YEAR} once converted to UTC")
    return ts


def parse_time_of_day(text: str) -> int:
    """`HH:MM[:SS[.ffffff]]` local wall time -> microseconds since local midnight.

    HH is 00..23 (a single digit is accepted too), MM and SS 00..59; `24:00` is rejected
    (use `00:00`: an end at or before the start runs past midnight). Surrounding whitespace is
    ignored. Raises ValueError with a specific reason.
    """
    cached = _TOD_CACHE.get(text)
    if cached is not None:
        return cached
    value = _time_of_day(text)
    if len(_TOD_CACHE) < _TOD_CACHE_MAX:
        _TOD_CACHE[text] = value
    return value


def _time_of_day(text: str) -> int:
    stripped = text.strip()
    if not stripped:
        raise ValueError("empty time of day")
    m = _TIME_OF_DAY_RE.fullmatch(stripped) if stripped.isascii() else None
    if m is None:
        raise ValueError("not a time of day: expected HH:MM[:SS[.ffffff]]")
    value = _clock_us(int(m["hour"]), int(m["minute"]), int(m["second"] or 0))
    frac = m["frac"]
    if frac:
        value += int(frac.ljust(6, "0"))
    return value


def parse_local_date(text: str) -> int:
    """`YYYY-MM-DD` (a local calendar date, 1970..2100) -> days since 1970-01-01."""
    stripped = text.strip()
    if not stripped:
        raise ValueError("empty date")
    if not stripped.isascii():
        raise ValueError(f"date {show(stripped)} is not YYYY-MM-DD")
    return _midnight_us(stripped) // US_PER_DAY


def format_local_date(days: int) -> str:
    """Days since 1970-01-01 -> `YYYY-MM-DD` (parse_local_date's form)."""
    return date.fromordinal(_EPOCH_ORDINAL + days).isoformat()


def _split(ts_us: int) -> tuple[date, int, int, int, int]:
    days, rest = divmod(ts_us, US_PER_DAY)
    seconds, micros = divmod(rest, US_PER_SECOND)
    hour, seconds = divmod(seconds, 3600)
    minute, second = divmod(seconds, 60)
    return date.fromordinal(_EPOCH_ORDINAL + days), hour, minute, second, micros


def format_timestamp(ts_us: int) -> str:
    """Microseconds since the epoch -> `YYYY-MM-DD HH:MM:SS.ffffff UTC` (parse_timestamp's form)."""
    d, hour, minute, second, micros = _split(ts_us)
    return f"{d.isoformat()} {hour:02d}:{minute:02d}:{second:02d}.{micros:06d} UTC"


def to_iso(ts_us: int) -> str:
    """Microseconds since the epoch -> ISO 8601 `YYYY-MM-DDTHH:MM:SS.ffffffZ` (for JSON APIs)."""
    d, hour, minute, second, micros = _split(ts_us)
    return f"{d.isoformat()}T{hour:02d}:{minute:02d}:{second:02d}.{micros:06d}Z"
