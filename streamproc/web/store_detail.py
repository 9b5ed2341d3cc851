"""The parts of `GET /stores/{store_id}` that say what the numbers rest on, and the week the
store page draws (``?week=1``). Pure conversions of :mod:`streamproc.core.evidence` into JSON:
durations in the report's units, rounded the report's way, so the page shows what a report
with the optional columns would print."""

from __future__ import annotations

from typing import Any

from streamproc.core.evidence import week_picture
from streamproc.core.hours import CLOSED, HoursSpec, SpecialSpec
from streamproc.core.records import US_PER_HOUR, US_PER_MINUTE, US_PER_SECOND
from streamproc.core.report_rows import OPTIONAL_COLUMNS, full_row
from streamproc.core.state import StoreState
from streamproc.core.timeparse import format_local_date, to_iso

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _rounded(us: int, unit: int) -> float:
    """``us`` in ``unit`` rounded half up to two decimals, as the report prints it."""
    return (us * 200 + unit) // (2 * unit) / 100


def figures_json(state: StoreState, now_us: int | None) -> dict[str, float | int]:
    """The optional report columns of this store, by column name, as the report prints them."""
    row = full_row(state.store_id, state, now_us)
    out: dict[str, float | int] = {}
    for column, (field, unit) in OPTIONAL_COLUMNS.items():
        value = getattr(row, field)
        out[column] = value if unit is None else _rounded(value, unit)
    return out


def _clock(us: int) -> str:
    seconds, micros = divmod(us, US_PER_SECOND)
    text = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return text + (f".{micros:06d}" if micros else "")


def hours_json(hours: HoursSpec | None) -> list[dict[str, Any]] | None:
    """Weekly rows as local wall times (None: open 24x7)."""
    if hours is None:
        return None
    return [{"day": d, "day_name": DAY_NAMES[d], "start": _clock(s), "end": _clock(e),
             "overnight": e <= s} for d, s, e in hours]


def special_json(special: SpecialSpec | None) -> list[dict[str, Any]]:
    """Special dates as local dates and wall times (``start`` None: closed that date)."""
    return [{"date": format_local_date(day), "start": None if s == CLOSED else _clock(s),
             "end": None if e == CLOSED else _clock(e)} for day, s, e in special or ()]


def _outage_json(o: dict[str, Any]) -> dict[str, Any]:
    return {"start": to_iso(o["start_us"]), "end": to_iso(o["end_us"]),
            "start_us": o["start_us"], "end_us": o["end_us"],
            "minutes": _rounded(o["down_us"], US_PER_MINUTE), "ongoing": o["ongoing"],
            "began_before_week": o["began_before"]}


def _day_json(d: dict[str, Any]) -> dict[str, Any]:
    known = d["up_us"] + d["down_us"]
    return {"date": d["date"], "start_us": d["start_us"], "end_us": d["end_us"],
            "midnight_us": d["midnight_us"], "next_midnight_us": d["next_midnight_us"],
            "uptime_hours": _rounded(d["up_us"], US_PER_HOUR),
            "downtime_hours": _rounded(d["down_us"], US_PER_HOUR),
            "business_hours": _rounded(d["business_us"], US_PER_HOUR),
            "uptime_ratio": round(d["up_us"] / known, 6) if known else None}


def week_json(state: StoreState, now_us: int) -> dict[str, Any]:
    """The last 7 days as the store page draws them (instants in µs since the epoch, UTC)."""
    pic = week_picture(state, now_us)
    return {
        "start_us": pic["start_us"], "end_us": pic["end_us"],
        "start": to_iso(pic["start_us"]), "end": to_iso(pic["end_us"]),
        "business": [list(p) for p in pic["business"]],
        "polls": [[ts, "active" if up else "inactive", observed]
                  for ts, up, observed in pic["polls"]],
        "segments": [[s, e, "up" if up else "down"] for s, e, up in pic["segments"]],
        "outages": [_outage_json(o) for o in pic["outages"]],
        "days": [_day_json(d) for d in pic["days"]],
    }


def detail_json(state: StoreState, now_us: int | None, week: bool) -> dict[str, Any]:
    """The fields /stores/{id} adds for the store page (``week``: the picture too)."""
    doc: dict[str, Any] = {"figures": figures_json(state, now_us),
                           "hours": hours_json(state.hours),
                           "special_hours": special_json(state.special)}
    if week and now_us is not None:
        doc["week"] = week_json(state, now_us)
    return doc
