"""Week-over-week uptime per store, kept compactly beyond the 8-day horizon of the polls.

Weeks are UTC weeks from Monday 00:00 (whole hours, so a week's business time up and down is
the sum of the state's per-hour buckets, :meth:`StoreState.hourly`, with the report's rules:
nearest observation, business hours, special dates). A closed week is computed from the live
state while its polls are still kept (the horizon) and remembered as three integers; the
newest :data:`KEEP` weeks are kept per store (``encode``: 20 bytes a week). The current week
is computed live, week to date.

A closed week's value can still move while polls near its end arrive (the last observation
of the week is extended to the midpoint of the next one), so it is recomputed for
:data:`SETTLE_US` after it closed, then left alone.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

from streamproc.core.records import US_PER_DAY, US_PER_HOUR
from streamproc.core.state import HORIZON_US, StoreState
from streamproc.core.timeparse import to_iso

KEEP = 8  # weeks shown and kept per store
WEEK_US = 7 * US_PER_DAY
SETTLE_US = US_PER_DAY  # a closed week is recomputed this long after it closed
_EPOCH_MONDAY_US = -3 * US_PER_DAY  # 1970-01-01 was a Thursday: Monday 1969-12-29 00:00 UTC
_ROW = struct.Struct("<iqq")  # week index, up µs, down µs

Weeks = dict[int, tuple[int, int]]  # week index -> (up µs, down µs)


def week_of(ts_us: int) -> int:
    """The index of the UTC week (from Monday 00:00) holding ``ts_us``."""
    return (ts_us - _EPOCH_MONDAY_US) // WEEK_US


def week_start(week: int) -> int:
    return _EPOCH_MONDAY_US + week * WEEK_US


def week_values(state: StoreState, week: int, now_us: int) -> tuple[int, int]:
    """Business µs up and down in the week (up to ``now_us`` for the current one), at
    ``now_us``, as the report counts them."""
    start = week_start(week)
    ups, downs = state.hourly(start // US_PER_HOUR, (start + WEEK_US) // US_PER_HOUR, now_us)
    return sum(ups), sum(downs)


def observed(state: StoreState, week: int) -> bool:
    """Whether the store has an observation (a poll in business hours) in the week."""
    start = week_start(week)
    return bool(state.observations(start, start + WEEK_US - 1))


def weeks_to_compute(kept: Mapping[int, tuple[int, int]], now_us: int) -> list[int]:
    """Closed weeks whose polls are all still kept and that are not settled yet: not kept,
    or closed less than :data:`SETTLE_US` ago."""
    current = week_of(now_us)
    out = []
    for week in range(current - 2, current):
        start = week_start(week)
        if start < now_us - HORIZON_US:
            continue  # some of its polls are gone: keep what was computed
        if week not in kept or now_us - (start + WEEK_US) < SETTLE_US:
            out.append(week)
    return out


def updated(kept: Mapping[int, tuple[int, int]], state: StoreState, now_us: int) -> Weeks:
    """``kept`` with the weeks that need it computed again, the newest :data:`KEEP`."""
    weeks = dict(kept)
    for week in weeks_to_compute(kept, now_us):
        if observed(state, week):  # the report would extend the nearest observation into
            weeks[week] = week_values(state, week, now_us)  # a week without any: not a trend
    newest = sorted(weeks)[-KEEP:]
    return {w: weeks[w] for w in newest}


def encode(weeks: Mapping[int, tuple[int, int]]) -> bytes:
    return b"".join(_ROW.pack(w, up, down) for w, (up, down) in sorted(weeks.items()))


def decode(data: bytes | None) -> Weeks:
    if not data:
        return {}
    return {w: (up, down) for w, up, down in _ROW.iter_unpack(data)}


def _pct(up: int, down: int) -> float | None:
    return None if up + down == 0 else round(100.0 * up / (up + down), 2)


def trend_json(kept: Mapping[int, tuple[int, int]], state: StoreState | None,
               now_us: int | None) -> list[dict[str, Any]]:
    """The last :data:`KEEP` weeks, oldest first, the current one (week to date, live)
    last: business hours up and down, uptime percent, change in points against the week
    before. Weeks without business time or data have ``uptime_percent`` None."""
    if now_us is None:
        return []
    current = week_of(now_us)
    weeks = dict(kept)
    if state is not None:
        for week in [*weeks_to_compute(kept, now_us), current]:
            if observed(state, week):
                weeks[week] = week_values(state, week, now_us)
    out, previous = [], None
    for week in range(current - KEEP + 1, current + 1):
        up, down = weeks.get(week, (0, 0))
        pct = _pct(up, down)
        out.append({
            "week_start": to_iso(week_start(week)), "week_start_us": week_start(week),
            "partial": week == current, "kept": week in kept,
            "up_hours": round(up / US_PER_HOUR, 2), "down_hours": round(down / US_PER_HOUR, 2),
            "uptime_percent": pct,
            "change_points": None if pct is None or previous is None else round(
                pct - previous, 2),
        })
        previous = pct
    return out
