"""A deliberately slow, obviously-correct reference implementation of the report contract.

Written from the contract alone (docs/semantics.md is the project's account of it). It
imports nothing from streamproc except the constants in ``streamproc.core.records`` and
shares no code with the real core:

* business hours: walk every local date in range, build each row's interval with ``zoneinfo``
  (``fold=0``) and merge; a date with special rows takes exactly those (none when closed);
* observations: polls inside business hours, ``now - 8 days <= ts <= now``; one observation per
  timestamp, inactive if any poll at that timestamp says inactive;
* integration: every business piece of a window is cut at every midpoint between consecutive
  observations; each sub-piece gets the status of the observation nearest to its centre, found by
  comparing the distance to *every* observation (ties to the earlier one). No sweep.

Values are exact ``Fraction`` microseconds (a midpoint may fall on half a microsecond).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from zoneinfo import ZoneInfo

from streamproc.core.records import (
    DEFAULT_TIMEZONE,
    US_PER_DAY,
    US_PER_HOUR,
    US_PER_MINUTE,
    US_PER_SECOND,
)

HORIZON_US = 8 * US_PER_DAY
WINDOWS_US = (US_PER_HOUR, US_PER_DAY, 7 * US_PER_DAY)  # last hour, last day, last week
UNITS_US = (US_PER_MINUTE, US_PER_HOUR, US_PER_HOUR)  # reported in minutes, hours, hours
HEADER = (
    "store_id,uptime_last_hour,uptime_last_day,uptime_last_week,"
    "downtime_last_hour,downtime_last_day,downtime_last_week"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def to_us(dt: datetime) -> int:
    """An aware datetime as int microseconds since the epoch (exact, no float)."""
    return (dt - _EPOCH) // _ONE_US


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)


def local_to_us(tz: str, d: date, time_us: int) -> int:
    """Wall time ``time_us`` after local midnight of date ``d`` in ``tz``, as UTC µs (fold=0)."""
    assert 0 <= time_us < US_PER_DAY
    seconds, micro = divmod(time_us, US_PER_SECOND)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    zone = ZoneInfo(tz)
    wall = datetime(d.year, d.month, d.day, hour, minute, second, micro, tzinfo=zone, fold=0)
    return to_us(wall)


def merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, merged half-open intervals; touching intervals join, empty ones vanish."""
    out: list[list[int]] = []
    for s, e in sorted(i for i in intervals if i[0] < i[1]):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def day_rows(
    rows: Sequence[tuple[int, int, int]] | None,
    special: Sequence[tuple[date, int | None, int | None]] | None,
    d: date,
) -> list[tuple[int, int]]:
    """(start, end) wall times of the intervals that start on local date ``d``.

    ``special`` rows are (date, start, end) with None times for "closed"; a date with any
    special row takes exactly its special rows; otherwise the weekly rows of its weekday, or
    the whole day (00:00 to 00:00) for a store without weekly rows.
    """
    todays = [(s, e) for day, s, e in special or () if day == d]
    if todays:
        return [(s, e) for s, e in todays if s is not None and e is not None]
    if not rows:
        return [(0, 0)]
    return [(s, e) for day, s, e in rows if day == d.weekday()]


def business_intervals(
    rows: Sequence[tuple[int, int, int]] | None,
    tz: str,
    start_us: int,
    end_us: int,
    special: Sequence[tuple[date, int | None, int | None]] | None = None,
) -> list[tuple[int, int]]:
    """Business time inside [start_us, end_us) as merged UTC intervals; no rows means 24x7."""
    if end_us <= start_us:
        return []
    if not rows and not special:
        return [(start_us, end_us)]
    zone = ZoneInfo(tz)
    # Every local date that could open an interval touching the range (an interval lasts < 2 days
    # of wall time and UTC offsets are < 1 day, so two spare days either side are plenty).
    first = from_us(start_us).astimezone(zone).date() - timedelta(days=2)
    last = from_us(end_us).astimezone(zone).date() + timedelta(days=2)
    raw = []
    d = first
    while d <= last:
        for s, e in day_rows(rows, special, d):
            opens = local_to_us(tz, d, s)
            closes = local_to_us(tz, d + timedelta(days=1), e) if e <= s else local_to_us(tz, d, e)
            raw.append((opens, closes))
        d += timedelta(days=1)
    clipped = ((max(s, start_us), min(e, end_us)) for s, e in merge(raw))
    return [(s, e) for s, e in clipped if s < e]


def is_open(rows: Sequence[tuple[int, int, int]] | None, tz: str, ts_us: int,
            special=None) -> bool:
    return bool(business_intervals(rows, tz, ts_us, ts_us + 1, special))


def observations(
    polls: Iterable[tuple[int, bool]],
    rows: Sequence[tuple[int, int, int]] | None,
    tz: str,
    now_us: int,
    special=None,
) -> list[tuple[int, bool]]:
    """Sorted (ts, active) observations that count at ``now_us``."""
    status: dict[int, bool] = {}
    for ts, active in polls:
        if now_us - HORIZON_US <= ts <= now_us and is_open(rows, tz, ts, special):
            status[ts] = status.get(ts, True) and bool(active)
    return sorted(status.items())


def nearest(obs: Sequence[tuple[int, bool]], t: Fraction | int) -> tuple[int, bool]:
    """The observation nearest to instant ``t``; on a tie the earlier one (direct comparison)."""
    best = obs[0]
    for o in obs[1:]:
        if abs(o[0] - t) < abs(best[0] - t):  # strictly closer: a tie keeps the earlier one
            best = o
    return best


def status_at(obs: Sequence[tuple[int, bool]], t: Fraction | int) -> bool:
    return nearest(obs, t)[1]


def integrate(
    obs: Sequence[tuple[int, bool]], pieces: Iterable[tuple[int, int]]
) -> tuple[Fraction, Fraction]:
    """(up, down) time over ``pieces``, each instant taking the nearest observation's status."""
    midpoints = [Fraction(a[0] + b[0], 2) for a, b in zip(obs, obs[1:], strict=False)]
    up = down = Fraction(0)
    for a, b in pieces:
        cuts = sorted({Fraction(a), Fraction(b), *(m for m in midpoints if a < m < b)})
        for x, y in zip(cuts, cuts[1:], strict=False):
            if status_at(obs, (x + y) / 2):
                up += y - x
            else:
                down += y - x
    return up, down


def store_values(
    polls: Iterable[tuple[int, bool]],
    rows: Sequence[tuple[int, int, int]] | None,
    tz: str | None,
    now_us: int | None,
    special=None,
) -> tuple[Fraction, ...]:
    """The six values (up hour/day/week, down hour/day/week) in µs for one store."""
    if now_us is None:
        return (Fraction(0),) * 6
    tz = tz or DEFAULT_TIMEZONE
    obs = observations(polls, rows, tz, now_us, special)
    if not obs:
        return (Fraction(0),) * 6
    ups, downs = [], []
    for width in WINDOWS_US:
        pieces = business_intervals(rows, tz, now_us - width, now_us, special)
        up, down = integrate(obs, pieces)
        ups.append(up)
        downs.append(down)
    return (*ups, *downs)


def compute_report(
    polls: Iterable[tuple[str, int, bool]],
    hours: Iterable[tuple[str, int, int, int]],
    timezones: Iterable[tuple[str, str]],
    as_of: int | None = None,
    special: Iterable[tuple[str, date, int | None, int | None]] = (),
) -> list[tuple]:
    """(store_id, six µs values) for every store seen in any input, sorted by id as text.

    ``special`` rows are (store_id, local date, start, end), None times meaning "closed"."""
    polls = list(polls)
    stores: set[str] = set()
    by_store: dict[str, list[tuple[int, bool]]] = {}
    for sid, ts, active in polls:
        stores.add(sid)
        if as_of is None or ts <= as_of:
            by_store.setdefault(sid, []).append((ts, active))
    rows_by_store: dict[str, list[tuple[int, int, int]]] = {}
    for sid, day, s, e in hours:
        stores.add(sid)
        rows_by_store.setdefault(sid, []).append((day, s, e))
    tz_by_store: dict[str, str] = {}
    for sid, tz in timezones:
        stores.add(sid)
        tz_by_store[sid] = tz  # the last row wins
    special_by_store: dict[str, list[tuple[date, int | None, int | None]]] = {}
    for sid, d, s, e in special:
        stores.add(sid)
        special_by_store.setdefault(sid, []).append((d, s, e))
    now = as_of if as_of is not None else max((ts for _, ts, _ in polls), default=None)
    return [
        (
            sid,
            *store_values(
                by_store.get(sid, []),
                rows_by_store.get(sid),
                tz_by_store.get(sid, DEFAULT_TIMEZONE),
                now,
                special_by_store.get(sid),
            ),
        )
        for sid in sorted(stores)
    ]


def oracle_round(us: int | Fraction, unit_us: int) -> str:
    """``us / unit_us`` rounded half up to exactly two decimals, via Decimal."""
    value = Fraction(us) / unit_us
    with localcontext() as ctx:
        ctx.prec = 60
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        return str(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def format_row(row: Sequence) -> list[str]:
    units = UNITS_US * 2
    return [row[0]] + [oracle_round(v, u) for v, u in zip(row[1:], units, strict=True)]
