"""Business hours (local wall-clock rows) turned into merged, half-open UTC intervals.

A row ``(day, start, end)`` opens the store on every local date whose weekday is ``day``,
from ``start`` to ``end`` that day, or to ``end`` the next day when ``end <= start``.
Wall times become instants with the zone's rules on that date (zoneinfo, fold=0), so a
22:00-22:00 row lasts 23 or 25 hours across a DST change.

Special hours (holidays, closures, events) replace the weekly rows date by date: for a local
date D with at least one special row, the intervals that *start* on D are exactly D's
special rows (a row ``(D, CLOSED, CLOSED)`` says "closed"); intervals of D-1 running past
midnight are untouched. A store without weekly rows is open all day on the other dates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from functools import cache, lru_cache
from itertools import accumulate
from zoneinfo import ZoneInfo

from streamproc.core.records import DEFAULT_TIMEZONE, US_PER_DAY

HoursSpec = tuple[tuple[int, int, int], ...]  # (day, start_us, end_us), local wall time
SpecialSpec = tuple[tuple[int, int, int], ...]  # (local date as days since 1970-01-01, start, end)
Interval = tuple[int, int]

CLOSED = -1  # start and end of a special row that says "closed on that date"
_WHOLE_DAY = ((0, 0),)  # 00:00 to 00:00 the next day: a 24x7 store's hours on one date

ALWAYS_OPEN: tuple[Interval, ...] = ((-(2**62), 2**62),)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@cache
def zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or DEFAULT_TIMEZONE)


def normalize_hours(rows: Iterable[Sequence[int]] | None) -> HoursSpec | None:
    """A canonical, hashable form: sorted and de-duplicated; None means open 24x7."""
    if rows is None:
        return None
    return shared_spec(tuple(sorted(_int_rows(rows)))) or None


_SHARED_SPECS: dict[tuple, tuple] = {}
SHARED_SPECS_MAX = 100_000  # distinct weekly schedules kept; more are simply not shared


def shared_spec(spec: tuple) -> tuple:
    """One object per distinct schedule, shared by every store that has it.

    Why: a store's seven (day, start, end) rows are ~1 KB of tuples and ints, and stores
    share schedules (the real fleet: 11,116 stores with hours, 1,840 distinct ones); at
    139,000 stores that is most of a gigabyte's target spent on copies."""
    if not spec:
        return spec
    found = _SHARED_SPECS.get(spec)
    if found is not None:
        return found
    if len(_SHARED_SPECS) < SHARED_SPECS_MAX:
        _SHARED_SPECS[spec] = spec
    return spec


def _int_rows(rows: Iterable[Sequence[int]]) -> set[tuple[int, int, int]]:
    """The distinct rows as int triples; rows decoded from the wire already are (no copy)."""
    if isinstance(rows, list) and all(type(r) is tuple and len(r) == 3 and type(r[0]) is int
                                      and type(r[1]) is int and type(r[2]) is int
                                      for r in rows):
        return set(rows)
    return {(int(d), int(s), int(e)) for d, s, e in rows}


def normalize_special(rows: Iterable[Sequence[int]] | None) -> SpecialSpec | None:
    """A canonical, hashable form of special rows: sorted, de-duplicated; None when empty."""
    if rows is None:
        return None
    spec = tuple(sorted(_int_rows(rows)))
    return spec or None


def _rows_by_date(special: SpecialSpec | None) -> dict[int, tuple[tuple[int, int], ...]]:
    """Special rows per proleptic ordinal; a date with only "closed" rows maps to ()."""
    by_date: dict[int, list[tuple[int, int]]] = {}
    for day, s, e in special or ():
        todays = by_date.setdefault(day + _EPOCH_ORDINAL, [])
        if s != CLOSED:
            todays.append((s, e))
    return {ordinal: tuple(rows) for ordinal, rows in by_date.items()}


def _wall_to_utc(tz: ZoneInfo, ordinal: int, time_us: int) -> int:
    """UTC µs of local wall time ``time_us`` on the date with proleptic ordinal ``ordinal``."""
    wall_us = (ordinal - _EPOCH_ORDINAL) * US_PER_DAY + time_us
    naive = datetime.fromordinal(ordinal) + timedelta(microseconds=time_us)
    offset = tz.utcoffset(naive)  # fold=0: the earlier offset for ambiguous or missing times
    return wall_us - (offset // timedelta(microseconds=1) if offset is not None else 0)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Sort and merge overlapping or touching half-open intervals; drop empty ones."""
    merged: list[list[int]] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1][1] = end
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def business_intervals(
    rows: Sequence[Sequence[int]] | None,
    tz: str | None,
    start_us: int,
    end_us: int,
    special: Sequence[Sequence[int]] | None = None,
) -> list[Interval]:
    """Merged UTC business intervals intersecting ``[start_us, end_us)``, clipped to it."""
    if end_us <= start_us:
        return []
    spec = normalize_hours(rows)
    by_date = _rows_by_date(normalize_special(special))
    if spec is None and not by_date:
        return [(start_us, end_us)]
    zi = zone(tz)
    by_day: dict[int, list[tuple[int, int]]] = {}
    for day, s, e in spec or ():
        by_day.setdefault(day, []).append((s, e))
    # Local dates that can open inside the range: one day of slack for offsets, one for overnight.
    first = _EPOCH_ORDINAL + start_us // US_PER_DAY - 2
    last = _EPOCH_ORDINAL + end_us // US_PER_DAY + 1
    raw: list[Interval] = []
    for ordinal in range(first, last + 1):
        todays = by_date.get(ordinal)
        if todays is None:  # ordinal 1 (0001-01-01) is a Monday
            todays = _WHOLE_DAY if spec is None else by_day.get((ordinal - 1) % 7, ())
        for s, e in todays:
            end_ordinal = ordinal if e > s else ordinal + 1
            lo = _wall_to_utc(zi, ordinal, s)
            hi = _wall_to_utc(zi, end_ordinal, e)
            if hi > start_us and lo < end_us:
                raw.append((max(lo, start_us), min(hi, end_us)))
    return merge(raw)


@lru_cache(maxsize=16384)
def shared_bounds(spec: HoursSpec | None, tz: str | None, start_day: int, end_day: int,
                  special: SpecialSpec | None = None
                  ) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """:func:`business_intervals` of normalised specs over whole UTC days ``[start_day,
    end_day)`` (days since 1970-01-01) as the columns a store bisects, (starts, ends, the
    business time of the intervals before each: any range's business time in two bisects),
    remembered: many stores share their hours and zone (11,116 stores of the real fleet have
    2,085 distinct pairs) and ask for the same days, and the zone arithmetic is most of the
    cost of a store's first polls of a new day. The stores share the tuples too: as lists of
    their own they were ~1 KB a store."""
    intervals = business_intervals(spec, tz, start_day * US_PER_DAY, end_day * US_PER_DAY,
                                   special)
    before = tuple(accumulate((e - s for s, e in intervals), initial=0))[:-1]
    return tuple(s for s, _ in intervals), tuple(e for _, e in intervals), before
