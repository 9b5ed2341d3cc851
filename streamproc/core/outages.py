"""Outage rules, pure: which status changes become events, and which events become alerts.

Three kinds of event go to the outages topic (all keyed by store id):

``down``
    The store's latest observation (a poll inside business hours) changed from active to
    inactive, or the store's first observation within the horizon is inactive.
``up``
    The latest observation changed from inactive to active. ``outage_since`` is the first
    inactive observation of the outage that ended and ``down_business_s`` its business time
    from there to the first active observation.
``sustained``
    A store has been down for at least ``STREAMPROC_ALERT_AFTER`` minutes of business time,
    counted from its first inactive observation (``since``) to the watermark, like the
    report extends the last observation to ``now``. Found by a periodic scan.

Nothing is emitted when a store's first observation is active (a store appearing is not a
recovery), when a newer observation repeats the current status, or for polls outside
business hours (they are not observations). A late poll older than the latest observation
never changes the latest observation, so it emits nothing either.

Alerts (one POST per outage, one per its recovery) are decided by :func:`decide_alert`
from the event and the durable record of what was already sent for the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from streamproc.core.alert_rules import should_page_outage
from streamproc.core.timeparse import to_iso

Observation = tuple[int, bool]  # (ts_us, active)
BusinessTimeFn = Callable[[int, int], int]  # business µs in [x, y)

DOWN, UP, SUSTAINED = "down", "up", "sustained"


def _status(active: bool) -> str:
    return "active" if active else "inactive"


def status_event(
    store_id: str,
    before: Observation | None,
    after: Observation | None,
    now_us: int,
    outage_since_us: int | None,
    business_time: BusinessTimeFn,
) -> dict[str, Any] | None:
    """The event for a change of a store's latest observation, or None.

    ``before``/``after`` are the latest observation before and after applying polls;
    ``outage_since_us`` is, for a recovery, the first inactive observation of the run that
    ended (``StoreState.status_since(before_ts)``).
    """
    if after is None:
        return None
    after_ts, after_up = after
    if before is None:
        if after_up:
            return None  # a first observation that is active is not news
        kind = DOWN
    else:
        if before[1] == after_up:
            return None
        kind = UP if after_up else DOWN
    event: dict[str, Any] = {
        "kind": kind,
        "store_id": store_id,
        "status": _status(after_up),
        "since_us": after_ts,
        "since": to_iso(after_ts),
        "watermark_us": now_us,
        "watermark": to_iso(now_us),
        "first": before is None,
    }
    if kind == UP and outage_since_us is not None:
        event["outage_since_us"] = outage_since_us
        event["outage_since"] = to_iso(outage_since_us)
        event["down_business_s"] = business_time(outage_since_us, after_ts) / 1e6
    return event


def sustained_event(
    store_id: str, since_us: int, now_us: int, down_business_us: int
) -> dict[str, Any]:
    return {
        "kind": SUSTAINED,
        "store_id": store_id,
        "status": "inactive",
        "since_us": since_us,
        "since": to_iso(since_us),
        "watermark_us": now_us,
        "watermark": to_iso(now_us),
        "down_business_s": down_business_us / 1e6,
    }


class SustainedTracker:
    """In-memory "already reported" set for the periodic scan (duplicates after a restart
    are harmless: :func:`decide_alert` drops them)."""

    def __init__(self, threshold_us: int) -> None:
        self.threshold_us = threshold_us
        self._reported: dict[str, int] = {}  # store id -> since of the outage reported

    def check(
        self,
        store_id: str,
        run: Observation | None,
        now_us: int,
        business_time: BusinessTimeFn,
        open_now: bool = True,
    ) -> dict[str, Any] | None:
        """``run`` is ``StoreState.status_since(now)``; returns a ``sustained`` event once,
        while the store is open (``core/alert_rules.should_page_outage``): one that reached
        the threshold and closed is reported when it is open again and still down."""
        if run is None or run[1]:
            self._reported.pop(store_id, None)
            return None
        since = run[0]
        if self._reported.get(store_id) == since:
            return None
        down = business_time(since, now_us)
        if not should_page_outage(down, self.threshold_us, open_now):
            return None
        self._reported[store_id] = since
        return sustained_event(store_id, since, now_us, down)


@dataclass(frozen=True)
class AlertRecord:
    """What was sent for a store's latest alerted outage (kept in a durable table)."""

    since_us: int
    recovered_us: int | None = None
    failed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"since_us": self.since_us, "recovered_us": self.recovered_us,
                "failed": self.failed}

    @classmethod
    def from_json(cls, doc: dict[str, Any] | None) -> AlertRecord | None:
        if not doc:
            return None
        return cls(doc["since_us"], doc.get("recovered_us"), bool(doc.get("failed")))


def decide_alert(
    record: AlertRecord | None, event: dict[str, Any]
) -> tuple[dict[str, Any] | None, AlertRecord | None]:
    """(webhook payload or None, new record) for one outage event.

    * ``sustained``: alert unless this store has an alerted outage that has not recovered
      yet, or the event is older than the last recovery (a replayed stale event).
    * ``up``: a recovery alert only if an alerted outage is open and began before it.
    * ``down``: never alerts by itself (short outages stay quiet).
    """
    kind = event.get("kind")
    store_id = event["store_id"]
    if kind == SUSTAINED:
        since = event["since_us"]
        if record is not None:
            if record.recovered_us is None:
                return None, record  # this outage (or one it merged into) already alerted
            if since <= record.recovered_us:
                return None, record  # stale: an outage that has already recovered
        payload = {
            "type": "outage",
            "alert_id": f"{store_id}:{since}:outage",
            "store_id": store_id,
            "status": "inactive",
            "since": event["since"],
            "down_business_minutes": round(event["down_business_s"] / 60, 2),
            "watermark": event["watermark"],
        }
        return payload, AlertRecord(since)
    if kind == UP:
        if record is None or record.recovered_us is not None:
            return None, record
        at = event["since_us"]
        if at < record.since_us:
            return None, record
        payload = {
            "type": "recovery",
            "alert_id": f"{store_id}:{record.since_us}:recovery",
            "store_id": store_id,
            "status": "active",
            "since": to_iso(record.since_us),
            "recovered_at": event["since"],
            "watermark": event["watermark"],
        }
        if "down_business_s" in event:
            payload["down_business_minutes"] = round(event["down_business_s"] / 60, 2)
        return payload, AlertRecord(record.since_us, at)
    return None, record


def backoff_delays(attempts: int, first: float = 0.5, factor: float = 2.0,
                   cap: float = 30.0) -> list[float]:
    """Seconds to wait before each retry (``attempts`` tries in all)."""
    return [min(cap, first * factor**i) for i in range(max(attempts - 1, 0))]
