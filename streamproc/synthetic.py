"""`streamproc generate`: write a realistic synthetic data set (polls, business hours, zones).

The three files have the real column names, order and formats, and a shape modelled on the
real January 2023 week (~144 polls per store per week, ~97 % active, ~80 % of stores with
business hours, ~2.5 % without a time zone row):

* ``store_status.csv`` (or ``.csv.gz`` with ``--gzip``): ``store_id,status,timestamp_utc``,
  roughly hourly polls per store with +-10 min jitter and ~14 % missed polls, shuffled.
  Most stores are healthy (none or a few scattered inactive polls); ~8 % are flaky, with
  multi-hour outages (runs of inactive polls).
* ``menu_hours.csv``: ``store_id,day,start_time_local,end_time_local`` (``HH:MM:SS``): all-day,
  regular, split (lunch + dinner), overnight (end < start), full-day (end == start) rows,
  closed weekdays; ~20 % of stores have no rows at all (open 24x7).
* ``timezones.csv``: ``store_id,timezone_str``: mostly US zones plus a few European and
  Asian ones; some stores have no row (America/Chicago).

Guarantees (for ``--stores >= 20``): at least one store of each kind listed in ``ROLES``:
overnight hours, split hours, a closed weekday, a full-day row, no hours rows, no time zone
row, a store present only in timezones.csv, a store with hours but no polls, a flaky store
with an outage of >= 3 consecutive inactive polls, and European/Asian zones.

``--stores N`` is the number of distinct store ids in the accepted rows of the three files,
i.e. the number of rows of the report. Bad rows (``--bad-rows K``) reuse existing ids (or
an empty one), so they never add a store. K is the total over the three files: with K >= 3,
``max(1, K // 10)`` go to the hours file, ``max(1, K // 20)`` to the time zones file and the
rest to the polls file.

``--dst``: unless ``--start`` is given, the range starts 2023-03-08 00:00 UTC, so a week
crosses the US spring-forward change of 2023-03-12 (02:00 local). The European change of
2023-03-26 01:00 UTC is crossed only with ``--days 19`` or more. Stores in Europe/London and
Europe/Berlin always exist, and in ``--dst`` mode some US stores have Saturday overnight hours
(e.g. 20:00-03:00) that span the missing hour. With ``--start``, ``--dst`` checks that the
range crosses a US (America/New_York) transition and fails otherwise.

Everything is derived from ``random.Random(seed)``: same arguments, same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from random import Random
from typing import TextIO
from zoneinfo import ZoneInfo

from streamproc.core.records import US_PER_DAY, US_PER_HOUR, US_PER_MINUTE, US_PER_SECOND
from streamproc.progress import Progress

POLLS_FILE = "store_status.csv"
HOURS_FILE = "menu_hours.csv"
TIMEZONES_FILE = "timezones.csv"
POLLS_HEADER = "store_id,status,timestamp_utc"
HOURS_HEADER = "store_id,day,start_time_local,end_time_local"
TIMEZONES_HEADER = "store_id,timezone_str"

DEFAULT_START = datetime(2023, 1, 18, tzinfo=UTC)
DST_START = datetime(2023, 3, 8, tzinfo=UTC)

MISS_RATE = 0.14  # missed polls: 24 * 7 * 0.86 ~= 144 polls per store per week, like the real data
JITTER_US = 10 * US_PER_MINUTE
NO_HOURS_RATE = 0.20
NO_TZ_RATE = 0.025
TZ_ONLY_RATE = 0.003
HOURS_NO_POLLS_RATE = 0.005
QUIET_RATE = 0.55  # stores with no inactive poll at all (the real median active ratio is 1.0)
FLAKY_RATE = 0.08
CONFLICT_RATE = 0.2  # share of duplicated polls whose status disagrees

# (zone, weight) roughly as in the real timezones.csv, plus a few non-US zones.
ZONES: tuple[tuple[str, float], ...] = (
    ("America/New_York", 0.58),
    ("America/Los_Angeles", 0.23),
    ("America/Chicago", 0.11),
    ("America/Phoenix", 0.03),
    ("America/Denver", 0.012),
    ("America/Detroit", 0.005),
    ("America/Indiana/Indianapolis", 0.002),
    ("America/Boise", 0.001),
    ("Pacific/Honolulu", 0.001),
    ("Europe/London", 0.002),
    ("Europe/Berlin", 0.002),
    ("Asia/Kolkata", 0.001),
    ("Asia/Tokyo", 0.001),
)

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

# Stores forced to exist (for --stores >= len(ROLES)): role -> (shape, zone, polls, health).
# shape None = no hours rows; zone None = no time zone row; "" = pick at random.
ROLES: tuple[tuple[str, str | None, str | None, bool, str], ...] = (
    ("overnight", "overnight", "America/New_York", True, ""),
    ("split", "split", "America/Los_Angeles", True, ""),
    ("closed_day", "closed", "America/Chicago", True, ""),
    ("full_day", "fullday", "America/Denver", True, ""),
    ("no_hours", None, "America/New_York", True, ""),
    ("no_timezone", "regular", None, True, ""),
    ("timezone_only", None, "America/Phoenix", False, ""),
    ("hours_no_polls", "regular", "America/New_York", False, ""),
    ("flaky", "allday", "America/New_York", True, "flaky"),
    ("europe_london", "regular", "Europe/London", True, ""),
    ("europe_berlin", "overnight", "Europe/Berlin", True, ""),
    ("asia", "split", "Asia/Kolkata", True, ""),
)
DST_ROLES: tuple[tuple[str, str | None, str | None, bool, str], ...] = (
    ("dst_overnight_ny", "dst_overnight", "America/New_York", True, ""),
    ("dst_overnight_chicago", "dst_overnight", "America/Chicago", True, ""),
)


@dataclass(frozen=True)
class GenConfig:
    stores: int
    days: int
    seed: int = 0
    start: datetime = DEFAULT_START
    dst: bool = False
    bad_rows: int = 0
    duplicates: float = 0.002

    @property
    def start_us(self) -> int:
        return _to_us(self.start)

    @property
    def end_us(self) -> int:
        return self.start_us + self.days * US_PER_DAY


@dataclass
class Store:
    store_id: str
    shape: str | None  # None: no hours rows (24x7)
    zone: str | None  # None: no time zone row
    polled: bool
    health: str  # "quiet" | "noisy" | "flaky"
    role: str = ""


@dataclass
class Dataset:
    """Lines (each ending in a newline, without the header) of the three files."""

    polls: list[str]
    hours: list[str]
    timezones: list[str]
    stores: list[Store]
    bad: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0


# ---------------------------------------------------------------------------- stores


def make_store_ids(rng: Random, n: int) -> list[str]:
    """n distinct ids that look like the real ones (63-bit integers, mostly 19 digits)."""
    seen: set[str] = set()
    ids: list[str] = []
    while len(ids) < n:
        value = rng.getrandbits(63)
        if value < 10**14:
            continue
        text = str(value)
        if text not in seen:
            seen.add(text)
            ids.append(text)
    return ids


def _weighted(rng: Random, table: tuple[tuple[str, float], ...]) -> str:
    names = [name for name, _ in table]
    weights = [w for _, w in table]
    return rng.choices(names, weights)[0]


def make_stores(rng: Random, cfg: GenConfig) -> list[Store]:
    ids = make_store_ids(rng, cfg.stores)
    roles = ROLES + (DST_ROLES if cfg.dst else ())
    stores: list[Store] = []
    for i, sid in enumerate(ids):
        if cfg.stores >= len(roles) and i < len(roles):
            role, shape, zone, polled, health = roles[i]
            health = health or _health(rng)
            if shape == "":
                shape = _weighted(rng, SHAPES)
            stores.append(Store(sid, shape, zone, polled, health, role))
            continue
        r = rng.random()
        if r < TZ_ONLY_RATE:
            stores.append(Store(sid, None, _weighted(rng, ZONES), False, "quiet", "timezone_only"))
            continue
        polled = not (r < TZ_ONLY_RATE + HOURS_NO_POLLS_RATE)
        shape = None if rng.random() < NO_HOURS_RATE and polled else _weighted(rng, SHAPES)
        zone = None if rng.random() < NO_TZ_RATE else _weighted(rng, ZONES)
        stores.append(Store(sid, shape, zone, polled, _health(rng)))
    return stores


def _health(rng: Random) -> str:
    r = rng.random()
    if r < FLAKY_RATE:
        return "flaky"
    return "quiet" if r < FLAKY_RATE + QUIET_RATE else "noisy"


# ---------------------------------------------------------------------------- hours


def _t(hour: int, minute: int = 0, second: int = 0) -> str:
    return f"{hour:02d}:{minute:02d}:{second:02d}"


def hours_for(rng: Random, shape: str) -> list[tuple[int, str, str]]:
    """(day, start, end) rows for one store of the given shape (unsorted, may be empty)."""
    days = list(range(7))
    open_at = _t(rng.choice((6, 7, 10, 11, 11, 11)))
    close_at = rng.choice((_t(20), _t(21), _t(21, 30), _t(22), _t(23), _t(23, 59, 59)))
    if shape == "allday":
        end = rng.choice((_t(23, 59), _t(23, 59, 59)))
        return [(d, _t(0), end) for d in days]
    if shape == "regular":
        return [(d, open_at, close_at) for d in days]
    if shape == "closed":
        closed = set(rng.sample(days, rng.choice((1, 1, 2))))
        return [(d, open_at, close_at) for d in days if d not in closed]
    if shape == "split":
        lunch = (_t(11), rng.choice((_t(14), _t(14, 30), _t(15))))
        dinner = (rng.choice((_t(17), _t(17, 30), _t(18))), rng.choice((_t(21), _t(22))))
        rows = []
        for d in days:
            if d == 0 and rng.random() < 0.5:
                continue  # closed on Mondays
            rows.append((d, *lunch))
            rows.append((d, *dinner))
        return rows
    if shape == "overnight":
        late = rng.choice(((_t(18), _t(2)), (_t(20), _t(3)), (_t(22), _t(4)), (_t(17), _t(1, 30))))
        return [
            (d, *late) if d in (4, 5) or rng.random() < 0.5 else (d, open_at, close_at)
            for d in days
        ]
    if shape == "dst_overnight":
        # Saturday night past 02:00 Sunday: spans the US spring-forward hour.
        return [(d, open_at, close_at) for d in days if d != 5] + [(5, _t(20), _t(3))]
    if shape == "late":
        end = rng.choice((_t(1), _t(2)))
        return [r for d in days for r in ((d, _t(0), end), (d, _t(11), _t(23, 59, 59)))]
    if shape == "fullday":
        at = rng.choice((_t(0), _t(5), _t(6)))
        full = set(rng.sample(days, rng.choice((1, 2, 3))))
        return [(d, at, at) if d in full else (d, open_at, close_at) for d in days]
    if shape == "single":
        return [(rng.randrange(7), open_at, close_at)]
    raise ValueError(f"unknown hours shape {shape!r}")


# ---------------------------------------------------------------------------- polls


class _Formatter:
    """Microseconds since the epoch -> `YYYY-MM-DD HH:MM:SS.ffffff UTC`, with a date cache."""

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


def _outage_hours(rng: Random, n_hours: int) -> tuple[bytearray, range]:
    """Inactive flags per hour for a flaky store, and one forced outage (polls never missed)."""
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


def polls_for(
    rng: Random, store: Store, cfg: GenConfig, fmt: _Formatter, out: list[str]
) -> tuple[int, int]:
    """Append one store's poll lines (and duplicates) to ``out``; return (polls, duplicates)."""
    start_us, end_us = cfg.start_us, cfg.end_us
    n_hours = cfg.days * 24
    phase = int(rng.random() * US_PER_HOUR)
    rnd = rng.random
    sid = store.store_id
    if store.health == "flaky":
        down, forced = _outage_hours(rng, n_hours)
        p_down = 0.0
    else:
        down, forced = bytearray(n_hours), range(0)
        p_down = 0.0 if store.health == "quiet" else 0.005 + rnd() * 0.07
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


# ---------------------------------------------------------------------------- bad rows


def split_bad_rows(k: int) -> dict[str, int]:
    """How K bad rows are spread over the three files."""
    if k < 3:
        return {"polls": k, "hours": 0, "timezones": 0}
    hours, zones = max(1, k // 10), max(1, k // 20)
    return {"polls": k - hours - zones, "hours": hours, "timezones": zones}


BAD_POLL_KINDS = ("bad_timestamp", "unknown_status", "empty_id", "too_few", "too_many")
_BAD_TIMESTAMPS = (
    "not-a-timestamp",
    "2023-01-22 25:09:39.388884 UTC",
    "2023-02-30 12:00:00.000000 UTC",
    "2023-01-22 12:09:39.388884 PST",
)
_BAD_STATUSES = ("maybe", "unknown", "1", "activ")


def bad_poll_rows(rng: Random, k: int, ids: list[str], cfg: GenConfig) -> list[str]:
    fmt = _Formatter()
    rows = []
    for i in range(k):
        sid = rng.choice(ids)
        stamp = fmt(cfg.start_us + int(rng.random() * cfg.days * US_PER_DAY))
        kind = BAD_POLL_KINDS[i % len(BAD_POLL_KINDS)]
        if kind == "bad_timestamp":
            rows.append(f"{sid},active,{_BAD_TIMESTAMPS[(i // 5) % len(_BAD_TIMESTAMPS)]}\n")
        elif kind == "unknown_status":
            rows.append(f"{sid},{_BAD_STATUSES[(i // 5) % len(_BAD_STATUSES)]},{stamp}\n")
        elif kind == "empty_id":
            rows.append(f",active,{stamp}\n")
        elif kind == "too_few":
            rows.append(f"{sid},active\n")
        else:
            rows.append(f"{sid},active,{stamp},extra\n")
    return rows


def bad_hours_rows(rng: Random, k: int, ids: list[str]) -> list[str]:
    kinds = (
        "{sid},7,10:00:00,22:00:00\n",
        "{sid},2,25:00:00,22:00:00\n",
        "{sid},3,10:00:00,24:00:00\n",
        "{sid},,10:00:00,22:00:00\n",
    )
    return [kinds[i % len(kinds)].format(sid=rng.choice(ids)) for i in range(k)]


def bad_timezone_rows(rng: Random, k: int, ids: list[str]) -> list[str]:
    kinds = ("{sid},Mars/Olympus_Mons\n", "{sid},\n", "{sid},America/Atlantis\n")
    return [kinds[i % len(kinds)].format(sid=rng.choice(ids)) for i in range(k)]


def _insert_spread(rng: Random, lines: list[str], extra: list[str]) -> None:
    for row in extra:
        lines.insert(rng.randrange(len(lines) + 1), row)


# ---------------------------------------------------------------------------- whole data set


def generate(cfg: GenConfig, progress: Progress | None = None) -> Dataset:
    """The whole data set for ``cfg`` as lines; a pure function of ``cfg``."""
    if cfg.stores < 1 or cfg.days < 1:
        raise ValueError("--stores and --days must be at least 1")
    if not 0 <= cfg.duplicates <= 1:
        raise ValueError("--duplicates must be a fraction between 0 and 1")
    if cfg.bad_rows < 0:
        raise ValueError("--bad-rows must be >= 0")
    rng = Random(cfg.seed)
    stores = make_stores(rng, cfg)

    hours: list[str] = []
    for store in stores:
        if store.shape is not None:
            rows = hours_for(rng, store.shape)
            rng.shuffle(rows)
            hours.extend(f"{store.store_id},{d},{s},{e}\n" for d, s, e in rows)

    zoned = [s for s in stores if s.zone is not None]
    rng.shuffle(zoned)
    timezones = [f"{s.store_id},{s.zone}\n" for s in zoned]

    fmt = _Formatter()
    polls: list[str] = []
    duplicates = 0
    for store in stores:
        if store.polled:
            n, d = polls_for(rng, store, cfg, fmt, polls)
            duplicates += d
            if progress is not None:
                progress.advance(n + d)

    split = split_bad_rows(cfg.bad_rows)
    ids = [s.store_id for s in stores]
    polls.extend(bad_poll_rows(rng, split["polls"], ids, cfg))
    rng.shuffle(polls)
    _insert_spread(rng, hours, bad_hours_rows(rng, split["hours"], ids))
    _insert_spread(rng, timezones, bad_timezone_rows(rng, split["timezones"], ids))
    return Dataset(polls, hours, timezones, stores, split, duplicates)


def write_lines(f: TextIO, header: str, lines: Iterable[str]) -> None:
    f.write(header + "\n")
    f.writelines(lines)


def crossed_transitions(zone: str, start_us: int, end_us: int) -> list[datetime]:
    """UTC hours (to the hour) at which ``zone``'s UTC offset changes within [start, end)."""
    tz = ZoneInfo(zone)
    found = []
    t = datetime.fromtimestamp(start_us / US_PER_SECOND, UTC)
    end = datetime.fromtimestamp(end_us / US_PER_SECOND, UTC)
    prev = t.astimezone(tz).utcoffset()
    while t < end:
        t += timedelta(hours=1)
        off = t.astimezone(tz).utcoffset()
        if off != prev:
            found.append(t)
            prev = off
    return found


def _to_us(dt: datetime) -> int:
    delta = dt.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * US_PER_SECOND + delta.microseconds


# ---------------------------------------------------------------------------- CLI
