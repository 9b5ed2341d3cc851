"""The report itself: rows from store states, rounding and the CSV form of the contract."""

from __future__ import annotations

import csv
from array import array
from collections.abc import Iterable, Iterator, KeysView, Mapping
from typing import NamedTuple, TextIO

from streamproc.core.evidence import evidence
from streamproc.core.records import (
    US_PER_HOUR,
    US_PER_MINUTE,
    HoursRow,
    Poll,
    Rejection,
    SpecialRow,
    TimezoneRow,
)
from streamproc.core.state import HORIZON_US, ZERO, StoreState, Values

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


class FullRow(NamedTuple):
    """A report row with the figures it rests on (:mod:`streamproc.core.evidence`), in µs."""

    store_id: str
    uptime_last_hour: int
    uptime_last_day: int
    uptime_last_week: int
    downtime_last_hour: int
    downtime_last_day: int
    downtime_last_week: int
    observations_last_hour: int
    observations_last_day: int
    observations_last_week: int
    longest_gap_last_week: int
    outages_last_hour: int
    outages_last_day: int
    outages_last_week: int
    longest_outage_last_week: int


# Optional columns, asked for by name: (FullRow field, unit µs or None for a count).
OPTIONAL_COLUMNS: dict[str, tuple[str, int | None]] = {
    "observations_last_hour": ("observations_last_hour", None),
    "observations_last_day": ("observations_last_day", None),
    "observations_last_week": ("observations_last_week", None),
    "longest_gap_minutes_last_week": ("longest_gap_last_week", US_PER_MINUTE),
    "outages_last_hour": ("outages_last_hour", None),
    "outages_last_day": ("outages_last_day", None),
    "outages_last_week": ("outages_last_week", None),
    "longest_outage_minutes_last_week": ("longest_outage_last_week", US_PER_MINUTE),
}
COUNT_COLUMNS = frozenset(c for c, (_, unit) in OPTIONAL_COLUMNS.items() if unit is None)
MAX_COLUMNS = 32


def check_columns(columns: object) -> tuple[str, ...]:
    """The optional columns asked for, in the order asked; ValueError says what is wrong."""
    if columns is None:
        return ()
    if not isinstance(columns, list | tuple) or len(columns) > MAX_COLUMNS:
        raise ValueError(f"columns must be a list of column names (at most {MAX_COLUMNS})")
    default = HEADER.split(",")
    for column in columns:
        if not isinstance(column, str):
            raise ValueError(f"column names are strings, not {column!r:.40}")
        if column in default:
            raise ValueError(f"column {column!r} is always in the report; ask only for "
                             f"optional ones: {', '.join(OPTIONAL_COLUMNS)}")
        if column not in OPTIONAL_COLUMNS:
            raise ValueError(f"unknown column {column[:60]!r}; optional columns are: "
                             f"{', '.join(OPTIONAL_COLUMNS)}")
    if len(set(columns)) != len(columns):
        raise ValueError("a column is asked for twice")
    return tuple(columns)


def header_of(columns: tuple[str, ...] = ()) -> str:
    return ",".join((HEADER, *columns))


def round_half_up(us: int, unit_us: int) -> str:
    """``us / unit_us`` rounded half up to two decimals, computed exactly in integers."""
    hundredths = (us * 200 + unit_us) // (2 * unit_us)
    sign = "-" if hundredths < 0 else ""
    hundredths = abs(hundredths)
    return f"{sign}{hundredths // 100}.{hundredths % 100:02d}"


def format_row(row: ReportRow) -> list[str]:
    return [row.store_id] + [round_half_up(v, u) for v, u in zip(row[1:7], _UNITS, strict=True)]


def format_extra(row: FullRow, columns: tuple[str, ...]) -> list[str]:
    """The optional columns of a row: counts as integers, durations in minutes."""
    out = []
    for column in columns:
        field, unit = OPTIONAL_COLUMNS[column]
        value = getattr(row, field)
        out.append(str(value) if unit is None else round_half_up(value, unit))
    return out


def write_csv(rows: Iterable[ReportRow | FullRow], file: TextIO,
              columns: tuple[str, ...] = ()) -> int:
    """Write the contract's CSV (plus ``columns``, which need FullRows); return the rows."""
    file.write(header_of(columns) + "\n")
    writer = csv.writer(file, lineterminator="\n")
    n = 0
    for row in rows:
        cells = format_row(row)
        if columns:
            cells += format_extra(row, columns)
        writer.writerow(cells)
        n += 1
    return n


def full_row(store_id: str, state: StoreState | None, now_us: int | None) -> FullRow:
    """A store's row with its figures (zeros without a state or a ``now``)."""
    if state is None or now_us is None:
        return FullRow(store_id, *(0,) * 14)
    return FullRow(store_id, *state.values(now_us), *evidence(state, now_us))


def row_from_wire(cells: Iterable) -> ReportRow | FullRow:
    """A row sent between workers as a JSON array: 7 cells or, with figures, 15."""
    cells = list(cells)
    return ReportRow(*cells) if len(cells) == len(ReportRow._fields) else FullRow(*cells)


def report_rows(states: Mapping[str, StoreState | None], now_us: int | None,
                figures: bool = False) -> list[ReportRow] | list[FullRow]:
    """One row per store, sorted by store id as text; a store without state reports zeros.

    ``figures``: FullRows, with what each number rests on (for the optional columns)."""
    return [store_row(store_id, states[store_id], now_us, figures)
            for store_id in sorted(states)]


def store_row(store_id: str, state: StoreState | None, now_us: int | None,
              figures: bool = False) -> ReportRow | FullRow:
    """One store's row at ``now_us``; zeros without a state or a ``now`` (``figures``: a
    FullRow, with what each number rests on)."""
    if figures:
        return full_row(store_id, state, now_us)
    values: Values = ZERO if state is None or now_us is None else state.values(now_us)
    return ReportRow(store_id, *values)


class GroupedPolls:
    """Accepted polls grouped by store as they arrive, 9 bytes a poll: a store's timestamps in
    an ``array('q')`` and its statuses in a ``bytearray`` (1 active, 0 inactive).

    The batch report holds a whole file's polls before it knows ``now`` (the newest poll); as
    ``(ts, active)`` tuples in lists they took ~100 bytes each (3 GiB for a 10x fleet's week,
    20M polls), and the garbage collector walked every one of them again and again.

    ``as_of``: polls after it are left out, but their store still gets a row."""

    __slots__ = ("as_of", "_groups")

    def __init__(self, as_of: int | None = None) -> None:
        self.as_of = as_of
        self._groups: dict[str, tuple[array, bytearray]] = {}

    def add(self, items: Iterable[Poll | Rejection]) -> list[Rejection]:
        """Group these polls; Rejections among them (a parser's output as it comes) are passed
        over and returned, so a reader needs no filter of its own in front of a hot loop."""
        groups = self._groups
        as_of = self.as_of
        passed: list[Rejection] = []
        for item in items:
            if item.__class__ is Rejection:
                passed.append(item)  # type: ignore[arg-type]
                continue
            store_id, ts, active = item
            group = groups.get(store_id)
            if group is None:
                group = groups[store_id] = (array("q"), bytearray())
            if as_of is not None and ts > as_of:
                continue
            group[0].append(ts)
            group[1].append(active)
        return passed

    @property
    def now(self) -> int | None:
        """The report's ``now``: ``as_of`` if given, else the newest poll (None: no polls)."""
        if self.as_of is not None:
            return self.as_of
        return max((max(ts) for ts, _ in self._groups.values() if ts), default=None)

    def store_ids(self) -> KeysView[str]:
        return self._groups.keys()

    def get(self, store_id: str) -> tuple[array, bytearray]:
        """A store's (timestamps, statuses) in arrival order (empty for an unknown store)."""
        return self._groups.get(store_id) or (array("q"), bytearray())

    def pop(self, store_id: str) -> tuple[array, bytearray]:
        """Like :meth:`get`, and forget them: a report written store by store frees as it goes."""
        return self._groups.pop(store_id, None) or (array("q"), bytearray())


class StoreSources(NamedTuple):
    """The other sources, per store: business hours, time zone and special hours rows."""

    hours: dict[str, list[tuple[int, int, int]]]
    zones: dict[str, str]
    special: dict[str, list[tuple[int, int, int]]]

    def store_ids(self) -> set[str]:
        return self.hours.keys() | self.zones.keys() | self.special.keys()


def group_sources(
    hours: Iterable[HoursRow],
    timezones: Iterable[TimezoneRow],
    special: Iterable[SpecialRow] = (),
) -> StoreSources:
    """Read hours, then time zones, then special hours, grouped by store."""
    hours_by_store: dict[str, list[tuple[int, int, int]]] = {}
    for store_id, day, start, end in hours:
        hours_by_store.setdefault(store_id, []).append((day, start, end))
    tz_by_store = dict(timezones)  # the last row wins, like a compacted topic
    special_by_store: dict[str, list[tuple[int, int, int]]] = {}
    for store_id, day, start, end in special:
        special_by_store.setdefault(store_id, []).append((day, start, end))
    return StoreSources(hours_by_store, tz_by_store, special_by_store)


def store_state(store_id: str, polls: tuple[array, bytearray], sources: StoreSources,
                now_us: int | None) -> StoreState:
    """A store's state from its polls (:class:`GroupedPolls`) and sources, at ``now_us``:
    polls older than the horizon are left out (none are kept without a ``now``)."""
    state = StoreState(store_id)
    state.set_timezone(sources.zones.get(store_id))
    state.set_hours(sources.hours.get(store_id))
    state.set_special(sources.special.get(store_id))
    ts, up = polls
    if now_us is not None and ts:
        state.replace_polls(ts, up, since_us=now_us - HORIZON_US)
    return state


def batch_rows(polls: GroupedPolls, sources: StoreSources,
               figures: bool = False) -> Iterator[ReportRow] | Iterator[FullRow]:
    """The report's rows, one store at a time in store id order (as :func:`report_rows` gives
    them for :func:`build_states`), each store's state built, asked and dropped in turn: only
    the polls, not every store's state, are held. Takes the polls out of ``polls``."""
    now = polls.now
    for store_id in sorted(polls.store_ids() | sources.store_ids()):
        yield store_row(store_id, store_state(store_id, polls.pop(store_id), sources, now),
                        now, figures)


def build_states(
    polls: Iterable[Poll],
    hours: Iterable[HoursRow],
    timezones: Iterable[TimezoneRow],
    as_of: int | None = None,
    special: Iterable[SpecialRow] = (),
) -> tuple[dict[str, StoreState], int | None]:
    """Fold accepted records into per-store states; return them and the report's ``now``."""
    grouped = GroupedPolls(as_of)
    grouped.add(polls)
    sources = group_sources(hours, timezones, special)
    now = grouped.now
    states = {store_id: store_state(store_id, grouped.get(store_id), sources, now)
              for store_id in grouped.store_ids() | sources.store_ids()}
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
