"""Business hours (local wall-clock rows) turned into merged, half-open UTC intervals.

A row ``(day, start, end)`` opens the store on every local date whose weekday is ``day``,
from ``start`` to ``end`` that day, or to ``end`` the next day when ``end <= start``.
Wall times become instants with the zone's rules on that date (zoneinfo, fold=0), so a
22:00-22:00 row lasts 23 or 25 hours across a DST change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from streamproc.core.records import DEFAULT_TIMEZONE, US_PER_DAY

HoursSpec = tuple[tuple[int, int, int], ...]  # (day, start_us, end_us), local wall time
Interval = tuple[int, int]

ALWAYS_OPEN: tuple[Interval, ...] = ((-(2**62), 2**62),)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@cache
def zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or DEFAULT_TIMEZONE)


def normalize_hours(rows: Iterable[Sequence[int]] | None) -> HoursSpec | None:
    """A canonical, hashable form: sorted and de-duplicated; None means open 24x7."""
    if rows is None:
        return None
    spec = tuple(sorted({(int(d), int(s), int(e)) for d, s, e in rows}))
    return spec or None


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
    rows: Sequence[Sequence[int]] | None, tz: str | None, start_us: int, end_us: int
) -> list[Interval]:
    """Merged UTC business intervals intersecting ``[start_us, end_us)``, clipped to it."""
    if end_us <= start_us:
        return []
    spec = normalize_hours(rows)
    if spec is None:
        return [(start_us, end_us)]
    zi = zone(tz)
    by_day: dict[int, list[tuple[int, int]]] = {}
    for day, s, e in spec:
        by_day.setdefault(day, []).append((s, e))
    # Local dates that can open inside the range: one day of slack for offsets, one for overnight.
    first = _EPOCH_ORDINAL + start_us // US_PER_DAY - 2
    last = _EPOCH_ORDINAL + end_us // US_PER_DAY + 1
    raw: list[Interval] = []
    for ordinal in range(first, last + 1):
        for s, e in by_day.get((ordinal - 1) % 7, ()):  # ordinal 1 (0001-01-01) is a Monday
            end_ordinal = ordinal if e > s else ordinal + 1
            lo = _wall_to_utc(zi, ordinal, s)
            hi = _wall_to_utc(zi, end_ordinal, e)
            if hi > start_us and lo < end_us:
                raw.append((max(lo, start_us), min(hi, end_us)))
    return merge(raw)
