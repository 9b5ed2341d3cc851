"""Digests, pure: when an owner's daily or weekly digest is due, and what it says.

A digest is the report at the digest's time, ``as_of`` = the latest instant at which the
owner's local clock showed their chosen time (``digest_daily = "08:00"``,
``digest_weekly = "Mon 08:00"``, in the audience's ``timezone``, default UTC), with the
report's own numbers for the owner's stores: the day's (or week's) business hours up and
down exactly as ``streamproc report --as-of`` prints ``uptime_last_day`` and
``downtime_last_day`` (``..._week`` for the weekly one), the outages of that window as the
report's ``outages_last_day`` / ``outages_last_week`` columns count them, uptime as a
percentage of business time, the worst stores, and the change against the previous digest
(the numbers it sent, kept: the polls of a week before last are beyond the 8-day horizon).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from streamproc.core.channels import Audience
from streamproc.core.hours import zone
from streamproc.core.records import US_PER_DAY, US_PER_HOUR, US_PER_MINUTE, US_PER_SECOND
from streamproc.core.report_rows import FullRow, round_half_up
from streamproc.core.timeparse import to_iso

DAILY, WEEKLY = "daily", "weekly"
WORST = 5  # stores listed by name in the message
DIGEST_TZ = "UTC"  # an audience without a timezone gets its digests on UTC's clock
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CSV_HEADER = ("store_id", "uptime_hours", "downtime_hours", "uptime_percent", "outages",
              "previous_uptime_percent", "change_points")


# -- when -------------------------------------------------------------------------------------


def wall_to_utc(day: date, tod_us: int, tz: str) -> int:
    """The instant of local wall time ``tod_us`` on ``day`` (zoneinfo's fold=0: a time in a
    DST gap lands after the gap, an ambiguous one on its first occurrence)."""
    hour, rest = divmod(tod_us, US_PER_HOUR)
    minute, rest = divmod(rest, US_PER_MINUTE)
    second, micro = divmod(rest, US_PER_SECOND)
    local = datetime.combine(day, time(hour, minute, second, micro), tzinfo=zone(tz))
    return (local - _EPOCH) // timedelta(microseconds=1)


def latest_slot(now_us: int, tz: str, tod_us: int, weekday: int | None = None) -> int:
    """The latest instant at or before ``now_us`` when the local clock in ``tz`` showed
    ``tod_us`` (on ``weekday`` only, 0 = Monday, when given)."""
    today = datetime.fromtimestamp(now_us // US_PER_SECOND, zone(tz)).date()
    for back in range(0, 9):
        day = today - timedelta(days=back)
        if weekday is not None and day.weekday() != weekday:
            continue
        slot = wall_to_utc(day, tod_us, tz)
        if slot <= now_us:
            return slot
    raise AssertionError("unreachable: a slot exists within 8 days")


def due(audience: Audience, kind: str, now_us: int, last_end_us: int | None) -> int | None:
    """The end of the ``kind`` digest the audience should get now, or None (not asked for,
    or already sent for the latest slot). Only the latest slot is ever due: a worker that
    was down for days sends one digest, not a backlog."""
    tz = audience.timezone or DIGEST_TZ
    if kind == DAILY and audience.digest_daily_us is not None:
        slot = latest_slot(now_us, tz, audience.digest_daily_us)
    elif kind == WEEKLY and audience.digest_weekly is not None:
        weekday, tod = audience.digest_weekly
        slot = latest_slot(now_us, tz, tod, weekday)
    else:
        return None
    return None if last_end_us is not None and slot <= last_end_us else slot


# -- what ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestRow:
    store_id: str
    up_us: int
    down_us: int
    outages: int
    previous_pct: float | None

    @property
    def pct(self) -> float | None:
        total = self.up_us + self.down_us
        return None if total == 0 else round(100.0 * self.up_us / total, 2)

    @property
    def change(self) -> float | None:
        if self.pct is None or self.previous_pct is None:
            return None
        return round(self.pct - self.previous_pct, 2)


def digest_rows(rows: Sequence[FullRow], kind: str, stores: frozenset[str] | None,
                previous: Mapping[str, float]) -> list[DigestRow]:
    """The report rows of ``stores`` (None: all) as digest rows, by store id."""
    out = []
    for row in rows:
        if stores is not None and row.store_id not in stores:
            continue
        if kind == DAILY:
            up, down, outages = row.uptime_last_day, row.downtime_last_day, row.outages_last_day
        else:
            up, down, outages = (row.uptime_last_week, row.downtime_last_week,
                                 row.outages_last_week)
        out.append(DigestRow(row.store_id, up, down, outages, previous.get(row.store_id)))
    return sorted(out, key=lambda r: r.store_id)


def total_pct(rows: Sequence[DigestRow]) -> float | None:
    up = sum(r.up_us for r in rows)
    total = up + sum(r.down_us for r in rows)
    return None if total == 0 else round(100.0 * up / total, 2)


def worst(rows: Sequence[DigestRow], n: int = WORST) -> list[DigestRow]:
    """The ``n`` stores with the lowest uptime (stores without business time left out)."""
    return sorted((r for r in rows if r.pct is not None), key=lambda r: (r.pct, r.store_id))[:n]


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def digest_csv(rows: Sequence[DigestRow]) -> str:
    """The attachment: hours as the report prints them (two decimals, half up)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for r in rows:
        writer.writerow([r.store_id, round_half_up(r.up_us, US_PER_HOUR),
                         round_half_up(r.down_us, US_PER_HOUR), _num(r.pct), r.outages,
                         _num(r.previous_pct), _num(r.change)])
    return buf.getvalue()


def digest_payload(owner: str, kind: str, end_us: int, rows: Sequence[DigestRow],
                   previous_total: float | None) -> dict[str, Any]:
    """The digest's JSON (what a ``json://`` or ``http(s)://`` channel gets)."""
    length = US_PER_DAY if kind == DAILY else 7 * US_PER_DAY
    total = total_pct(rows)
    return {
        "type": "digest", "kind": kind, "owner": owner, "store_id": "*",
        "alert_id": f"digest:{owner}:{kind}:{end_us}",
        "period_start": to_iso(end_us - length), "period_end": to_iso(end_us),
        "watermark": to_iso(end_us), "stores": len(rows),
        "uptime_percent": total, "previous_uptime_percent": previous_total,
        "change_points": (None if total is None or previous_total is None
                          else round(total - previous_total, 2)),
        "outages": sum(r.outages for r in rows),
        "worst": [{"store_id": r.store_id, "uptime_percent": r.pct, "outages": r.outages}
                  for r in worst(rows)],
    }


def digest_text(payload: dict[str, Any]) -> tuple[str, str]:
    """(title, body) for people."""
    kind = payload["kind"]
    title = f"{kind.capitalize()} uptime digest: {_num(payload['uptime_percent']) or 'n/a'} %"
    lines = [f"Business uptime of your {payload['stores']} store(s) from "
             f"{payload['period_start']} to {payload['period_end']}: "
             f"{_num(payload['uptime_percent']) or 'n/a'} %"]
    if payload["change_points"] is not None:
        lines.append(f"Previous {DAYS_WORD[kind]}: {payload['previous_uptime_percent']:.2f} % "
                     f"({payload['change_points']:+.2f} points).")
    lines.append(f"Outages: {payload['outages']}.")
    if payload["worst"]:
        lines.append("Worst stores: " + ", ".join(
            f"{w['store_id']} {w['uptime_percent']:.2f} % ({w['outages']} outages)"
            for w in payload["worst"]))
    lines.append("Every store in the attached CSV.")
    return title, "\n".join(lines)


DAYS_WORD = {DAILY: "day", WEEKLY: "week"}
