"""Business hours of the generated stores: one shape per store, drawn like the real file's.

``menu_hours.csv`` rows are ``store_id,day,start_time_local,end_time_local`` (``HH:MM:SS``):
all-day, regular, split (lunch + dinner), overnight (end < start), full-day (end == start)
rows and closed weekdays, so that the report meets every kind of interval it must handle.
"""

from __future__ import annotations

from collections.abc import Callable
from random import Random

# Hours shapes: name -> weight among stores that have hours rows.
SHAPES: tuple[tuple[str, float], ...] = (
    ("allday", 0.25),
    ("regular", 0.30),
    ("closed", 0.12),
    ("split", 0.12),
    ("overnight", 0.08),
    ("late", 0.08),
    ("fullday", 0.03),
    ("single", 0.02),
)

Rows = list[tuple[int, str, str]]  # (day 0=Mon..6=Sun, start, end) of one store
DAYS = range(7)


def t(hour: int, minute: int = 0, second: int = 0) -> str:
    """A local time of day as the file writes it."""
    return f"{hour:02d}:{minute:02d}:{second:02d}"


def hours_for(rng: Random, shape: str) -> Rows:
    """(day, start, end) rows for one store of the given shape (unsorted, may be empty)."""
    make = _SHAPE_ROWS.get(shape)
    if make is None:
        raise ValueError(f"unknown hours shape {shape!r}")
    # Drawn first and for every shape, even those that ignore them: moving these draws would
    # change every data set generated so far from the same seed.
    open_at = t(rng.choice((6, 7, 10, 11, 11, 11)))
    close_at = rng.choice((t(20), t(21), t(21, 30), t(22), t(23), t(23, 59, 59)))
    return make(rng, open_at, close_at)


def hours_lines(rng: Random, store_id: str, shape: str) -> list[str]:
    """One store's lines of the file, in random order like the real file's."""
    rows = hours_for(rng, shape)
    rng.shuffle(rows)
    return [f"{store_id},{d},{s},{e}\n" for d, s, e in rows]


def _allday(rng: Random, _open_at: str, _close_at: str) -> Rows:
    end = rng.choice((t(23, 59), t(23, 59, 59)))  # both spellings occur in the real file
    return [(d, t(0), end) for d in DAYS]


def _regular(_rng: Random, open_at: str, close_at: str) -> Rows:
    return [(d, open_at, close_at) for d in DAYS]


def _closed(rng: Random, open_at: str, close_at: str) -> Rows:
    closed = set(rng.sample(list(DAYS), rng.choice((1, 1, 2))))
    return [(d, open_at, close_at) for d in DAYS if d not in closed]


def _split(rng: Random, _open_at: str, _close_at: str) -> Rows:
    lunch = (t(11), rng.choice((t(14), t(14, 30), t(15))))
    dinner = (rng.choice((t(17), t(17, 30), t(18))), rng.choice((t(21), t(22))))
    rows = []
    for d in DAYS:
        if d == 0 and rng.random() < 0.5:
            continue  # closed on Mondays
        rows.append((d, *lunch))
        rows.append((d, *dinner))
    return rows


def _overnight(rng: Random, open_at: str, close_at: str) -> Rows:
    late = rng.choice(((t(18), t(2)), (t(20), t(3)), (t(22), t(4)), (t(17), t(1, 30))))
    return [
        (d, *late) if d in (4, 5) or rng.random() < 0.5 else (d, open_at, close_at)
        for d in DAYS
    ]


def _dst_overnight(_rng: Random, open_at: str, close_at: str) -> Rows:
    # Saturday night past 02:00 Sunday: spans the US spring-forward hour.
    return [(d, open_at, close_at) for d in DAYS if d != 5] + [(5, t(20), t(3))]


def _late(rng: Random, _open_at: str, _close_at: str) -> Rows:
    end = rng.choice((t(1), t(2)))
    return [r for d in DAYS for r in ((d, t(0), end), (d, t(11), t(23, 59, 59)))]


def _fullday(rng: Random, open_at: str, close_at: str) -> Rows:
    at = rng.choice((t(0), t(5), t(6)))
    full = set(rng.sample(list(DAYS), rng.choice((1, 2, 3))))
    return [(d, at, at) if d in full else (d, open_at, close_at) for d in DAYS]


def _single(rng: Random, open_at: str, close_at: str) -> Rows:
    return [(rng.randrange(7), open_at, close_at)]


_SHAPE_ROWS: dict[str, Callable[[Random, str, str], Rows]] = {
    "allday": _allday,
    "regular": _regular,
    "closed": _closed,
    "split": _split,
    "overnight": _overnight,
    "dst_overnight": _dst_overnight,
    "late": _late,
    "fullday": _fullday,
    "single": _single,
}
