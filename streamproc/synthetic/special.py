"""Special hours (holidays, closures, events) of a generated data set.

``special_hours.csv``: ``store_id,date,start_time_local,end_time_local``, local dates inside
the generated range. It has its own random stream (seeded from ``--seed``), so the three
other files are byte for byte what they were before this file existed. Kinds of rows:

* a holiday (the day four days before the range ends, so in the last week): ~30 % of the
  polled stores are closed all day (both times empty);
* single closures: ~4 % of the stores are closed on one random date;
* late openings: ~4 % open 10:00 to 02:00 the next day (an overnight special row);
* split days: ~3 % open 11:00-14:00 and 17:00-22:00 on one date;
* with ``--dst``: ~5 % of the US stores have 01:00-05:00 on the spring-forward date, a special
  row across the missing hour (three real hours).

For ``--stores >= 20`` each kind exists at least once (the first polled stores take them).
Rows only name stores that have polls, so the set of stores (the report's rows) is unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from random import Random

from streamproc.synthetic.options import GenConfig
from streamproc.synthetic.stores import Store
from streamproc.synthetic.zones import crossed_transitions

GUARANTEED_FROM = 20  # stores
HOLIDAY_RATE = 0.30
CLOSURE_RATE = 0.04
LATE_RATE = 0.04
SPLIT_RATE = 0.03
DST_RATE = 0.05

Rows = list[tuple[str, str, str]]  # (date, start, end) of one store


def _dates(cfg: GenConfig) -> list[date]:
    first = cfg.start.date()
    return [first + timedelta(days=i) for i in range(cfg.days)]


def _dst_date(cfg: GenConfig) -> date | None:
    changes = crossed_transitions("America/New_York", cfg.start_us, cfg.end_us)
    return changes[0].date() if changes else None  # 07:00 UTC: the local date of the change


def _kinds(cfg: GenConfig, rng: Random) -> list[tuple[str, float, Callable[[], Rows]]]:
    dates = _dates(cfg)
    holiday = dates[max(len(dates) - 4, 0)].isoformat()
    kinds = [
        ("holiday", HOLIDAY_RATE, lambda: [(holiday, "", "")]),
        ("closure", CLOSURE_RATE, lambda: [(rng.choice(dates).isoformat(), "", "")]),
        ("late", LATE_RATE, lambda: [(rng.choice(dates).isoformat(), "10:00:00", "02:00:00")]),
        ("split", SPLIT_RATE, lambda: _split_day(rng.choice(dates).isoformat())),
    ]
    dst = _dst_date(cfg) if cfg.dst else None
    if dst is not None:
        kinds.append(("dst", DST_RATE, lambda: [(dst.isoformat(), "01:00:00", "05:00:00")]))
    return kinds


def _split_day(day: str) -> Rows:
    return [(day, "11:00:00", "14:00:00"), (day, "17:00:00", "22:00:00")]


def special_hours_lines(cfg: GenConfig, stores: list[Store]) -> list[str]:
    """The file's lines (each ending in a newline, no header); a pure function of its input."""
    rng = Random(f"special-hours-{cfg.seed}")
    kinds = _kinds(cfg, rng)
    polled = [s for s in stores if s.polled]
    guaranteed = len(stores) >= GUARANTEED_FROM
    lines: list[str] = []
    for i, store in enumerate(polled):
        for k, (name, rate, make) in enumerate(kinds):
            if name == "dst" and not (store.zone or "America/Chicago").startswith("America/"):
                continue
            if (guaranteed and i == k) or rng.random() < rate:
                lines.extend(f"{store.store_id},{d},{s},{e}\n" for d, s, e in make())
    rng.shuffle(lines)
    return lines
