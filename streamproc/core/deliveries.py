"""One alert to many channels, pure: who gets it, what they read, and its durable record.

An alert (a payload of :func:`~streamproc.core.outages.decide_alert` or
:func:`~streamproc.core.alert_rules.decide_no_open`) becomes one :class:`Delivery` per URL
of each audience of the store. The worker keeps, per store, a short history of its alerts
with each delivery's outcome (``sent``, ``failed`` after its retries, ``muted``), written
after every delivery that ends: a worker that stops in the middle of an alert resumes it
from that entry and sends only what was not sent yet (:func:`resume`).

The entry never holds a URL, only its masked form and a short digest of it to tell two
deliveries apart, so the history can be shown to the owner as it is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from streamproc.core.alert_rules import silence_reason
from streamproc.core.channels import Audience, mask_url

PENDING, SENT, FAILED, MUTED = "pending", "sent", "failed", "muted"
HISTORY_KEEP = 50  # alerts kept per store
TITLES = {
    "outage": "Store {store_id} is down",
    "recovery": "Store {store_id} is back up",
    "did_not_open": "Store {store_id} did not open",
}


@dataclass(frozen=True)
class Delivery:
    """One alert to one URL of one audience."""

    audience: str
    url: str
    status: str = PENDING
    attempts: int = 0
    reason: str = ""

    @property
    def key(self) -> str:
        """Names the delivery without the URL: audience and a digest of the URL."""
        return f"{self.audience}:{url_digest(self.url)}"

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "audience": self.audience, "channel": mask_url(self.url),
                "status": self.status, "attempts": self.attempts, "reason": self.reason}


def url_digest(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:12]


def plan(payload: dict[str, Any], audiences: Iterable[Audience], at_us: int,
         store_tz: str | None) -> list[Delivery]:
    """Every delivery of ``payload``: pending, or muted with the reason."""
    out = []
    for audience in audiences:
        reason = silence_reason(audience, payload["store_id"], at_us, store_tz)
        for url in audience.urls:
            out.append(Delivery(audience.name, url, MUTED if reason else PENDING,
                                reason=reason or ""))
    return out


def resume(planned: Sequence[Delivery], entry: dict[str, Any] | None) -> list[Delivery]:
    """The planned deliveries with the outcomes an earlier attempt already recorded (a
    restart in the middle of an alert): only those still pending are sent."""
    if not entry:
        return list(planned)
    done = {d["key"]: d for d in entry.get("deliveries", ()) if d["status"] != PENDING}
    out = []
    for d in planned:
        old = done.get(d.key)
        out.append(replace(d, status=old["status"], attempts=old["attempts"],
                           reason=old["reason"]) if old else d)
    return out


def entry_of(payload: dict[str, Any], deliveries: Sequence[Delivery],
             recorded_ms: int) -> dict[str, Any]:
    """The history entry of an alert (secrets masked)."""
    return {"alert_id": payload["alert_id"], "type": payload["type"],
            "store_id": payload["store_id"], "at": payload.get("watermark"),
            "recorded_ms": recorded_ms, "payload": payload,
            "deliveries": [d.to_json() for d in deliveries]}


def find_entry(history: Sequence[dict[str, Any]], alert_id: str) -> dict[str, Any] | None:
    return next((e for e in history if e["alert_id"] == alert_id), None)


def with_entry(history: Sequence[dict[str, Any]], entry: dict[str, Any],
               keep: int = HISTORY_KEEP) -> list[dict[str, Any]]:
    """``history`` (newest last) with ``entry`` put in place of the one of its alert id, or
    appended; the oldest dropped beyond ``keep``."""
    out = [e for e in history if e["alert_id"] != entry["alert_id"]]
    out.append(entry)
    return out[-keep:]


def render(payload: dict[str, Any]) -> tuple[str, str]:
    """(title, body) of an alert as a person reads it in a chat or an e-mail."""
    kind = payload["type"]
    title = TITLES.get(kind, "Store {store_id}: " + kind).format(store_id=payload["store_id"])
    lines = []
    if kind == "outage":
        lines.append(f"Inactive since {payload['since']} "
                     f"({payload['down_business_minutes']} business minutes so far).")
    elif kind == "recovery":
        lines.append(f"Active again at {payload['recovered_at']}; down since {payload['since']}"
                     + (f" ({payload['down_business_minutes']} business minutes)."
                        if "down_business_minutes" in payload else "."))
    elif kind == "did_not_open":
        lines.append(f"Not seen active since its opening at {payload['opening']}.")
    lines.append(f"As of {payload['watermark']}. Alert {payload['alert_id']}.")
    return title, "\n".join(lines)
