"""Poll lines of ``store_status.csv``: ``store_id,status,timestamp_utc``.

Roughly hourly polls per store with +-10 min jitter and ~14 % missed polls, like the real
data (~144 polls per store per week, ~97 % active). Most stores are healthy (none or a few
scattered inactive polls); flaky stores have multi-hour outages (runs of inactive polls).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from random import Random

from streamproc.core.records import US_PER_DAY, US_PER_HOUR, US_PER_MINUTE, US_PER_SECOND
from streamproc.synthetic.options import GenConfig
from streamproc.synthetic.stores import Store

MISS_RATE = 0.14  # missed polls: 24 * 7 * 0.86 ~= 144 polls per store per week, like the real data
JITTER_US = 10 * US_PER_MINUTE
CONFLICT_RATE = 0.2  # share of duplicated polls whose status disagrees


class Formatter:
    """Microseconds since the epoch -> ``YYYY-MM-DD HH:MM:SS.ffffff UTC``, with the date part
    cached: a data set has a few dates and up to millions of polls."""

    def __init__(self) -> None:
        self._dates: dict[int, str] = {}

    def __call__(self, ts_us: int) -> str:
        day, rest = divmod(ts_us, US_PER_DAY)
        date_text = self._dates.get(day)
        if date_text is None:
            date_text = (datetime(1970, 1, 1) + timedelta(days=day)).strftime("%Y-%m-%d")
            self._dates[day] = date_text
        hour, rest = divmod(rest, US_PER_HOUR)
        minute, rest = divmod(rest, US_PER_MINUTE)
        second, micros = divmod(rest, US_PER_SECOND)
        return f"{date_text} {hour:02d}:{minute:02d}:{second:02d}.{micros:06d} UTC"


def polls_for(
    rng: Random, store: Store, cfg: GenConfig, fmt: Formatter, out: list[str]
) -> tuple[int, int]:
    """Append one store's poll lines (and duplicates) to ``out``; return (polls, duplicates)."""
    start_us, end_us = cfg.start_us, cfg.end_us
    n_hours = cfg.days * 24
    phase = int(rng.random() * US_PER_HOUR)
    down, forced, p_down = _health_plan(rng, store.health, n_hours)
    rnd = rng.random
    sid = store.store_id
    dup_rate = cfg.duplicates
    polls = dups = 0
    for h in range(n_hours):
        if rnd() < MISS_RATE and h not in forced:
            continue
        ts = start_us + h * US_PER_HOUR + phase + int((rnd() * 2 - 1) * JITTER_US)
        if ts < start_us or ts >= end_us:
            continue
        inactive = down[h] or (p_down and rnd() < p_down)
        status = "inactive" if inactive else "active"
        stamp = fmt(ts)
        out.append(f"{sid},{status},{stamp}\n")
        polls += 1
        if dup_rate and rnd() < dup_rate:
            if rnd() < CONFLICT_RATE:
                status = "active" if inactive else "inactive"
            out.append(f"{sid},{status},{stamp}\n")
            dups += 1
    return polls, dups


def _health_plan(rng: Random, health: str, n_hours: int) -> tuple[bytearray, range, float]:
    """(inactive flag per hour, hours never missed, chance of a stray inactive poll)."""
    if health == "flaky":
        down, forced = _outage_hours(rng, n_hours)
        return down, forced, 0.0
    p_down = 0.0 if health == "quiet" else 0.005 + rng.random() * 0.07
    return bytearray(n_hours), range(0), p_down


def _outage_hours(rng: Random, n_hours: int) -> tuple[bytearray, range]:
    """Inactive flags per hour for a flaky store, and one forced outage whose polls are never
    missed (so the outage is visible in the data, not lost to missed polls)."""
    down = bytearray(n_hours)
    h = 0
    while h < n_hours:
        if rng.random() < 0.025:
            length = 2 + int(rng.random() * 10)
            down[h : h + length] = b"\x01" * len(down[h : h + length])
            h += length
        else:
            h += 1
    length = min(n_hours, 4 + int(rng.random() * 6))
    first = int(rng.random() * (n_hours - length + 1))
    forced = range(first, first + length)
    down[first : first + length] = b"\x01" * length
    return down, forced
