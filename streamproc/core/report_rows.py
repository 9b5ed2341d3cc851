"""The report itself: rows from store states, rounding and the CSV form of the contract."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from typing import NamedTuple, TextIO

from streamproc.core.records import (
    US_PER_HOUR,
    US_PER_MINUTE,
    HoursRow,
    Poll,
    SpecialRow,
    TimezoneRow,
)
from streamproc.core.state import HORIZON_US, StoreState, Values

HEADER = (
    "store_id,uptime_last_hour,uptime_last_day,uptime_last_week,"
    "downtime_last_hour,downtime_last_day,downtime_last_week"
)
_UNITS = (US_PER_MINUTE, US_PER_HOUR, US_PER_HOUR) * 2


class ReportRow(NamedTuple):
    """One store's six values in microseconds of business time (converted only on output)."""

    store_id: str
    uptime_last_hour: int
    uptime_last_day: int
    uptime_last_week: int
    downtime_last_hour: int
    downtime_last_day: int
    downtime_last_week: int


def round_half_up(us: int, unit_us: int) -> str:
    """``us / unit_us`` rounded half up to two decimals, computed exactly in integers."""
    hundredths = (us * 200 + unit_us) // (2 * unit_us)
    sign = "-" if hundredths < 0 else ""
    hundredths = abs(hundredths)
    return f"{sign}{hundredths // 100}.{hundredths % 100:02d}"


def format_row(row: ReportRow) -> list[str]:
    return [row.store_id] + [round_half_up(v, u) for v, u in zip(row[1:], _UNITS, strict=True)]


def write_csv(rows: Iterable[ReportRow], file: TextIO) -> int:
    """Write the contract's CSV; return the number of data rows."""
    file.write(HEADER + "\n")
    writer = csv.writer(file, lineterminator="\n")
    n = 0
    for row in rows:
        writer.writerow(format_row(row))
        n += 1
    return n


def report_rows(states: Mapping[str, StoreState | None], now_us: int | None) -> list[ReportRow]:
    """One row per store, sorted by store id as text; a store without state reports zeros."""
    rows = []
    for store_id in sorted(states):
        state = states[store_id]
        values: Values = (0,) * 6 if state is None or now_us is None else state.values(now_us)
        rows.append(ReportRow(store_id, *values))
    return rows


def build_states(
    polls: Iterable[Poll],
    hours: Iterable[HoursRow],
    timezones: Iterable[TimezoneRow],
    as_of: int | None = None,
    special: Iterable[SpecialRow] = (),
) -> tuple[dict[str, StoreState], int | None]:
    """Fold accepted records into per-store states; return them and the report's ``now``."""
    by_store: dict[str, list[tuple[int, bool]]] = {}
    now = None
    for store_id, ts, active in polls:
        if as_of is not None and ts > as_of:
            by_store.setdefault(store_id, [])
            continue
        by_store.setdefault(store_id, []).append((ts, active))
        if now is None or ts > now:
            now = ts
    if as_of is not None:
        now = as_of
    hours_by_store: dict[str, list[tuple[int, int, int]]] = {}
    for store_id, day, start, end in hours:
        hours_by_store.setdefault(store_id, []).append((day, start, end))
    tz_by_store = dict(timezones)  # the last row wins, like a compacted topic
    special_by_store: dict[str, list[tuple[int, int, int]]] = {}
    for store_id, day, start, end in special:
        special_by_store.setdefault(store_id, []).append((day, start, end))
    states: dict[str, StoreState] = {}
    stores = by_store.keys() | hours_by_store.keys() | tz_by_store.keys()
    for store_id in stores | special_by_store.keys():
        state = StoreState(store_id)
        state.set_timezone(tz_by_store.get(store_id))
        state.set_hours(hours_by_store.get(store_id))
        state.set_special(special_by_store.get(store_id))
        if now is not None:
            horizon = now - HORIZON_US
            state.add_polls(p for p in by_store.get(store_id, ()) if p[0] >= horizon)
        states[store_id] = state
    return states, now


def compute_report(
    polls: Iterable[Poll],
    hours: Iterable[HoursRow],
    timezones: Iterable[TimezoneRow],
    as_of: int | None = None,
    special: Iterable[SpecialRow] = (),
) -> list[ReportRow]:
    """The whole contract for already-parsed records (the batch oracle for streaming)."""
    states, now = build_states(polls, hours, timezones, as_of, special)
    return report_rows(states, now)
