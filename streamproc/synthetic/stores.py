"""The generated stores: their ids, and for each its hours shape, zone, health and role.

Rates follow the real January 2023 week (~80 % of stores with business hours, ~2.5 % without
a time zone row, most stores healthy, ~8 % flaky with multi-hour outages).

Guarantees (for ``--stores >= len(ROLES)``): at least one store of each kind listed in
``ROLES``: overnight hours, split hours, a closed weekday, a full-day row, no hours rows, no
time zone row, a store present only in timezones.csv, a store with hours but no polls, a
flaky store with an outage of >= 3 consecutive inactive polls, and European/Asian zones, so
that a small data set still exercises every rule of the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from streamproc.synthetic.hours import SHAPES
from streamproc.synthetic.options import GenConfig
from streamproc.synthetic.zones import ZONES

NO_HOURS_RATE = 0.20
NO_TZ_RATE = 0.025
TZ_ONLY_RATE = 0.003
HOURS_NO_POLLS_RATE = 0.005
QUIET_RATE = 0.55  # stores with no inactive poll at all (the real median active ratio is 1.0)
FLAKY_RATE = 0.08

Role = tuple[str, str | None, str | None, bool, str]  # (role, shape, zone, polled, health)

# Stores forced to exist (for --stores >= len(ROLES)): role -> (shape, zone, polls, health).
# shape None = no hours rows; zone None = no time zone row; "" = pick at random.
ROLES: tuple[Role, ...] = (
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
DST_ROLES: tuple[Role, ...] = (
    ("dst_overnight_ny", "dst_overnight", "America/New_York", True, ""),
    ("dst_overnight_chicago", "dst_overnight", "America/Chicago", True, ""),
)


@dataclass
class Store:
    store_id: str
    shape: str | None  # None: no hours rows (24x7)
    zone: str | None  # None: no time zone row
    polled: bool
    health: str  # "quiet" | "noisy" | "flaky"
    role: str = ""


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


def make_stores(rng: Random, cfg: GenConfig) -> list[Store]:
    """The stores of ``cfg``: the forced roles first (when there is room for all), then
    stores drawn at the real data's rates."""
    ids = make_store_ids(rng, cfg.stores)
    roles = ROLES + (DST_ROLES if cfg.dst else ())
    forced = len(roles) if cfg.stores >= len(roles) else 0
    pairs = zip(ids[:forced], roles[:forced], strict=True)
    stores = [_role_store(rng, sid, role) for sid, role in pairs]
    stores += [_drawn_store(rng, sid) for sid in ids[forced:]]
    return stores


def _role_store(rng: Random, store_id: str, role: Role) -> Store:
    name, shape, zone, polled, health = role
    health = health or _health(rng)
    if shape == "":
        shape = _weighted(rng, SHAPES)
    return Store(store_id, shape, zone, polled, health, name)


def _drawn_store(rng: Random, store_id: str) -> Store:
    r = rng.random()
    if r < TZ_ONLY_RATE:
        return Store(store_id, None, _weighted(rng, ZONES), False, "quiet", "timezone_only")
    polled = not (r < TZ_ONLY_RATE + HOURS_NO_POLLS_RATE)
    shape = None if rng.random() < NO_HOURS_RATE and polled else _weighted(rng, SHAPES)
    zone = None if rng.random() < NO_TZ_RATE else _weighted(rng, ZONES)
    return Store(store_id, shape, zone, polled, _health(rng))


def _health(rng: Random) -> str:
    r = rng.random()
    if r < FLAKY_RATE:
        return "flaky"
    return "quiet" if r < FLAKY_RATE + QUIET_RATE else "noisy"


def _weighted(rng: Random, table: tuple[tuple[str, float], ...]) -> str:
    names = [name for name, _ in table]
    weights = [w for _, w in table]
    return rng.choices(names, weights)[0]
