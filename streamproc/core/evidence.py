"""What each number rests on: observations, gaps and outages behind a store's report row.

An owner who sees 100% uptime computed from one poll in a week deserves to know it. These
figures use the same observations, the same nearest-observation rule and the same midpoint
split as :class:`streamproc.core.state.StoreState`, so they add up with the report:

* **observations** in a window: observations (polls inside business hours) with
  ``now - window <= ts <= now``;
* **longest gap** (week): the most business time between two consecutive moments of
  knowledge, the week's start, each observation in it and ``now``;
* an **outage** is a maximal run of consecutive inactive observations; its down time runs
  from the midpoint before its first inactive observation (the window start if no
  observation precedes it) to the midpoint after its last one (``now`` if none follows:
  ongoing). **outages** in a window counts those with down business time in the window
  (so it is 0 exactly when the downtime is 0) and the **longest outage** is the most down
  business time one of them has inside the week: the outages' times add up to the
  report's downtime.

Everything is in microseconds; the report converts on output.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from streamproc.core.hours import zone
from streamproc.core.records import US_PER_DAY
from streamproc.core.state import HORIZON_US, WINDOWS_US, StoreState

WEEK_US = WINDOWS_US[-1]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


class Evidence(NamedTuple):
    """The optional report figures of one store (durations in business µs)."""

    observations_last_hour: int
    observations_last_day: int
    observations_last_week: int
    longest_gap_last_week: int
    outages_last_hour: int
    outages_last_day: int
    outages_last_week: int
    longest_outage_last_week: int


class Run(NamedTuple):
    """Consecutive observations of one status and the time they decide.

    ``start`` is None when no observation precedes the run (it reaches back to any window
    start); ``end`` is ``now`` when none follows (the run is ongoing)."""

    start: int | None
    end: int
    up: bool
    first_obs: int
    last_obs: int
    ongoing: bool


def status_runs(obs: list[tuple[int, bool]], now_us: int) -> list[Run]:
    """Maximal runs of equal status over sorted observations (all at or before ``now_us``)."""
    runs: list[Run] = []
    i, n = 0, len(obs)
    while i < n:
        j = i
        while j + 1 < n and obs[j + 1][1] == obs[i][1]:
            j += 1
        start = None if i == 0 else (obs[i - 1][0] + obs[i][0]) // 2
        end = now_us if j + 1 == n else (obs[j][0] + obs[j + 1][0]) // 2
        runs.append(Run(start, end, obs[i][1], obs[i][0], obs[j][0], j + 1 == n))
        i = j + 1
    return runs


def horizon_observations(state: StoreState, now_us: int) -> list[tuple[int, bool]]:
    """The observations the report at ``now_us`` uses (the last 8 days, ``now`` included)."""
    return state.observations(now_us - HORIZON_US, now_us)


def run_time(state: StoreState, run: Run, a_us: int, now_us: int) -> int:
    """Business µs a run decides inside the window [a_us, now_us)."""
    start = a_us if run.start is None else max(run.start, a_us)
    return state.business_time(start, min(run.end, now_us))


def longest_gap(state: StoreState, obs: list[tuple[int, bool]], a_us: int, now_us: int) -> int:
    """Most business µs between consecutive points of knowledge in [a_us, now_us]: one sweep
    of the gaps against the week's business intervals (both sorted)."""
    points = [a_us] + [ts for ts, _ in obs if a_us <= ts <= now_us] + [now_us]
    pieces = state.business_pieces(a_us, now_us)
    best = j = 0
    for x, y in zip(points, points[1:], strict=False):
        while j < len(pieces) and pieces[j][1] <= x:
            j += 1
        total, k = 0, j
        while k < len(pieces) and pieces[k][0] < y:
            total += min(pieces[k][1], y) - max(pieces[k][0], x)
            k += 1
        best = max(best, total)
    return best


def evidence(state: StoreState, now_us: int | None) -> Evidence:
    """The figures for one store at ``now_us`` (None: no ``now``, all zeros)."""
    if now_us is None:
        return Evidence(0, 0, 0, 0, 0, 0, 0, 0)
    obs = horizon_observations(state, now_us)
    counts = tuple(sum(1 for ts, _ in obs if ts >= now_us - w) for w in WINDOWS_US)
    downs = [r for r in status_runs(obs, now_us) if not r.up]
    outages = []
    for w in WINDOWS_US:
        outages.append([t for r in downs if (t := run_time(state, r, now_us - w, now_us)) > 0])
    gap = longest_gap(state, obs, now_us - WEEK_US, now_us)
    return Evidence(*counts, gap, *(len(o) for o in outages), max(outages[-1], default=0))


# -- the store page: the last week as a picture --------------------------------------------


def segments(state: StoreState, runs: list[Run], a_us: int, now_us: int
             ) -> list[tuple[int, int, bool]]:
    """(start, end, up) business pieces of [a_us, now_us), each with its decided status."""
    out = []
    for run in runs:
        start = a_us if run.start is None else max(run.start, a_us)
        for s, e in state.business_pieces(start, min(run.end, now_us)):
            out.append((s, e, run.up))
    return out


def local_date(ts_us: int, tz: str | None) -> date:
    return (_EPOCH + timedelta(microseconds=ts_us)).astimezone(zone(tz)).date()


def local_midnight(day: date, tz: str | None) -> int:
    """UTC µs of 00:00 local on ``day`` (fold=0, like business hours)."""
    naive = datetime(day.year, day.month, day.day)
    offset = zone(tz).utcoffset(naive) or timedelta(0)
    return (day.toordinal() - _EPOCH_ORDINAL) * US_PER_DAY - offset // timedelta(microseconds=1)


def daily(state: StoreState, pieces: list[tuple[int, int, bool]], a_us: int, now_us: int
          ) -> list[dict]:
    """Up, down and business µs per local date of the store, clipped to [a_us, now_us)."""
    days = []
    day = local_date(a_us, state.tz)
    while (lo := max(midnight := local_midnight(day, state.tz), a_us)) < now_us:
        following = local_midnight(day + timedelta(days=1), state.tz)
        hi = min(following, now_us)
        up = sum(min(e, hi) - max(s, lo) for s, e, u in pieces if u and s < hi and e > lo)
        down = sum(min(e, hi) - max(s, lo) for s, e, u in pieces if not u and s < hi and e > lo)
        days.append({"date": day.isoformat(), "start_us": lo, "end_us": hi,
                     "midnight_us": midnight, "next_midnight_us": following, "up_us": up,
                     "down_us": down, "business_us": state.business_time(lo, hi)})
        day += timedelta(days=1)
    return days


def outage_list(state: StoreState, runs: list[Run], a_us: int, now_us: int) -> list[dict]:
    """The outages with down time in [a_us, now_us): where it lies there and how long."""
    out = []
    for run in runs:
        if run.up or (down := run_time(state, run, a_us, now_us)) <= 0:
            continue
        start = a_us if run.start is None else max(run.start, a_us)
        out.append({"start_us": start, "end_us": min(run.end, now_us), "down_us": down,
                    "ongoing": run.ongoing, "began_before": run.start is None or run.start < a_us,
                    "first_observation_us": run.first_obs, "last_observation_us": run.last_obs})
    return out


def week_picture(state: StoreState, now_us: int) -> dict:
    """Everything the store page draws for the week ending at ``now_us`` (µs, UTC)."""
    a = now_us - WEEK_US
    runs = status_runs(horizon_observations(state, now_us), now_us)
    pieces = segments(state, runs, a, now_us)
    polls = [(ts, up, state.is_open(ts)) for ts, up in state.polls() if a <= ts <= now_us]
    return {
        "start_us": a,
        "end_us": now_us,
        "business": state.business_pieces(a, now_us),
        "polls": polls,
        "segments": pieces,
        "outages": outage_list(state, runs, a, now_us),
        "days": daily(state, pieces, a, now_us),
    }
