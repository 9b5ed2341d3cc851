"""Malformed rows (``--bad-rows K``), spread over the three files, so that a generated data
set exercises every rejection path of the parsers.

Bad rows reuse existing store ids (or an empty one), so they never add a store. K is the
total over the three files: with K >= 3, ``max(1, K // 10)`` go to the hours file,
``max(1, K // 20)`` to the time zones file and the rest to the polls file.
"""

from __future__ import annotations

from random import Random

from streamproc.core.records import US_PER_DAY
from streamproc.synthetic.options import GenConfig
from streamproc.synthetic.polls import Formatter

BAD_POLL_KINDS = ("bad_timestamp", "unknown_status", "empty_id", "too_few", "too_many")
_BAD_TIMESTAMPS = (
    "not-a-timestamp",
    "2023-01-22 25:09:39.388884 UTC",
    "2023-02-30 12:00:00.000000 UTC",
    "2023-01-22 12:09:39.388884 PST",
)
_BAD_STATUSES = ("maybe", "unknown", "1", "activ")
_BAD_HOURS = (
    "{sid},7,10:00:00,22:00:00\n",
    "{sid},2,25:00:00,22:00:00\n",
    "{sid},3,10:00:00,24:00:00\n",
    "{sid},,10:00:00,22:00:00\n",
)
_BAD_TIMEZONES = ("{sid},Mars/Olympus_Mons\n", "{sid},\n", "{sid},America/Atlantis\n")


def split_bad_rows(k: int) -> dict[str, int]:
    """How K bad rows are spread over the three files."""
    if k < 3:
        return {"polls": k, "hours": 0, "timezones": 0}
    hours, zones = max(1, k // 10), max(1, k // 20)
    return {"polls": k - hours - zones, "hours": hours, "timezones": zones}


def bad_poll_rows(rng: Random, k: int, ids: list[str], cfg: GenConfig) -> list[str]:
    """k bad poll lines, each kind in turn, each with a plausible time inside the range."""
    fmt = Formatter()
    rows = []
    for i in range(k):
        sid = rng.choice(ids)
        stamp = fmt(cfg.start_us + int(rng.random() * cfg.days * US_PER_DAY))
        rows.append(_bad_poll(BAD_POLL_KINDS[i % len(BAD_POLL_KINDS)], i // 5, sid, stamp))
    return rows


def _bad_poll(kind: str, variant: int, sid: str, stamp: str) -> str:
    if kind == "bad_timestamp":
        return f"{sid},active,{_BAD_TIMESTAMPS[variant % len(_BAD_TIMESTAMPS)]}\n"
    if kind == "unknown_status":
        return f"{sid},{_BAD_STATUSES[variant % len(_BAD_STATUSES)]},{stamp}\n"
    if kind == "empty_id":
        return f",active,{stamp}\n"
    if kind == "too_few":
        return f"{sid},active\n"
    return f"{sid},active,{stamp},extra\n"


def bad_hours_rows(rng: Random, k: int, ids: list[str]) -> list[str]:
    return [_BAD_HOURS[i % len(_BAD_HOURS)].format(sid=rng.choice(ids)) for i in range(k)]


def bad_timezone_rows(rng: Random, k: int, ids: list[str]) -> list[str]:
    return [_BAD_TIMEZONES[i % len(_BAD_TIMEZONES)].format(sid=rng.choice(ids))
            for i in range(k)]


def insert_spread(rng: Random, lines: list[str], extra: list[str]) -> None:
    """Insert ``extra`` at random places of ``lines`` (a bad row may be anywhere in a file)."""
    for row in extra:
        lines.insert(rng.randrange(len(lines) + 1), row)
