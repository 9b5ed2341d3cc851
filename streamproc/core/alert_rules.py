"""Alert rules that know a store's hours, pure: when a page is due, and who is silenced.

* An outage pages once it has lasted N business minutes (``core/outages.py``), and only while
  the store is open: a store that reached N minutes and closed (or whose next date is a
  special closed date) pages when it is open again and still down, never while closed.
* "Did not open": a store with real opening times (weekly or special hours; a 24x7 store has
  none) that is not seen active within M minutes after an opening, and is still open then,
  pages once for that opening (``no_open`` events, :func:`decide_no_open`).
* Silence, per audience (the operator or an owner) and per store: ``mute_until`` (a snooze,
  in event time like every rule here) and weekly quiet windows in local wall time (the
  audience's ``timezone``, else the store's zone). A silenced delivery is recorded as
  ``muted``, never sent later: a page is about *now*.

Time is event time (the watermark), so a replay of history pages as it would have live.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from streamproc.core.channels import Audience, QuietWindow, Silence
from streamproc.core.hours import zone
from streamproc.core.records import US_PER_DAY, US_PER_SECOND
from streamproc.core.timeparse import to_iso

NO_OPEN = "no_open"
OPENING_LOOKBACK_US = 2 * US_PER_DAY  # openings older than this are not checked any more
Interval = tuple[int, int]
ObservationsFn = Callable[[int, int], list[tuple[int, bool]]]  # observations in [x, y]


# -- outages ----------------------------------------------------------------------------------


def should_page_outage(down_business_us: int, threshold_us: int, open_now: bool) -> bool:
    """An outage pages once it lasted ``threshold_us`` business µs, and only while open."""
    return open_now and down_business_us >= threshold_us


# -- did not open ---------------------------------------------------------------------------


def latest_opening(pieces: Sequence[Interval], lo_us: int, now_us: int) -> int | None:
    """The start of the latest business interval that opens in ``(lo_us, now_us]``.

    ``pieces`` are the merged business intervals clipped to ``[lo_us, hi)``: a piece that
    starts at ``lo_us`` may be clipped, so it is no opening we know of (a 24x7 store's only
    piece starts there: it never opens)."""
    starts = [s for s, _ in pieces if lo_us < s <= now_us]
    return max(starts) if starts else None


def no_open_due(opening_us: int, grace_us: int, now_us: int, open_now: bool,
                observations: Sequence[tuple[int, bool]]) -> bool:
    """True when a store did not open: ``grace_us`` after ``opening_us`` has passed, it is
    still open, and none of its ``observations`` in ``[opening_us, now_us]`` is active."""
    if now_us < opening_us + grace_us or not open_now:
        return False
    return not any(up for ts, up in observations if opening_us <= ts <= now_us)


def no_open_event(store_id: str, opening_us: int, now_us: int) -> dict[str, Any]:
    return {
        "kind": NO_OPEN,
        "store_id": store_id,
        "opening_us": opening_us,
        "opening": to_iso(opening_us),
        "watermark_us": now_us,
        "watermark": to_iso(now_us),
    }


class OpeningTracker:
    """Which opening each store was last reported for (in memory; a restart may publish an
    opening again, :func:`decide_no_open` drops it)."""

    def __init__(self, grace_us: int) -> None:
        self.grace_us = grace_us
        self._reported: dict[str, int] = {}

    def check(self, store_id: str, pieces: Sequence[Interval], lo_us: int, now_us: int,
              open_now: bool, observations: ObservationsFn) -> dict[str, Any] | None:
        """A ``no_open`` event once per opening that is due; ``pieces`` as for
        :func:`latest_opening` over ``[lo_us, now_us + 1)``."""
        opening = latest_opening(pieces, lo_us, now_us)
        if opening is None or self._reported.get(store_id) == opening:
            return None
        if not no_open_due(opening, self.grace_us, now_us, open_now,
                           observations(opening, now_us)):
            return None
        self._reported[store_id] = opening
        return no_open_event(store_id, opening, now_us)


def decide_no_open(last_opening_us: int | None, event: dict[str, Any]
                   ) -> tuple[dict[str, Any] | None, int | None]:
    """(payload or None, opening to remember) for a ``no_open`` event: one message per
    opening, never for an opening at or before the last one alerted (a replay)."""
    opening = event["opening_us"]
    if last_opening_us is not None and opening <= last_opening_us:
        return None, last_opening_us
    store_id = event["store_id"]
    payload = {
        "type": "did_not_open",
        "alert_id": f"{store_id}:{opening}:did-not-open",
        "store_id": store_id,
        "status": "not seen active",
        "opening": event["opening"],
        "watermark": event["watermark"],
    }
    return payload, opening


# -- silence ------------------------------------------------------------------------------------


def local_weekday_time(ts_us: int, tz: str | None) -> tuple[int, int]:
    """(weekday 0 = Monday, µs since local midnight) of an instant in a zone."""
    dt = datetime.fromtimestamp(ts_us // US_PER_SECOND, UTC).astimezone(zone(tz))
    tod = (dt.hour * 3600 + dt.minute * 60 + dt.second) * US_PER_SECOND + ts_us % US_PER_SECOND
    return dt.weekday(), tod


def in_quiet_window(window: QuietWindow, weekday: int, tod_us: int) -> bool:
    """Whether local (weekday, time of day) falls in the weekly window (half-open; an end at
    or before the start runs into the next day)."""
    if window.end_us > window.start_us:
        return weekday in window.days and window.start_us <= tod_us < window.end_us
    if weekday in window.days and tod_us >= window.start_us:
        return True
    return (weekday - 1) % 7 in window.days and tod_us < window.end_us


def silence_reason(audience: Audience, store_id: str, at_us: int,
                   store_tz: str | None) -> str | None:
    """Why ``audience`` is not paged about ``store_id`` at ``at_us`` (None: page them)."""
    tz = audience.timezone or store_tz
    for scope, silence in (("store", audience.store_silence.get(store_id)),
                           ("owner", audience.silence)):
        reason = _silenced(silence, at_us, tz)
        if reason:
            return f"{scope} {reason}"
    return None


def _silenced(silence: Silence | None, at_us: int, tz: str | None) -> str | None:
    if silence is None:
        return None
    if silence.mute_until_us is not None and at_us < silence.mute_until_us:
        return f"muted until {to_iso(silence.mute_until_us)}"
    if silence.quiet:
        weekday, tod = local_weekday_time(at_us, tz)
        if any(in_quiet_window(w, weekday, tod) for w in silence.quiet):
            return "quiet hours"
    return None
