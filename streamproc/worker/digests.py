"""Daily and weekly digests to each owner who asked for one, once per slot.

The rules are pure (:mod:`streamproc.core.digests`); this finds what is due on the worker
that holds the alerts (the ``outage-alerts`` table, one partition: one worker at a time),
takes the report's snapshot at the digest's time (``Cluster.snapshot(as_of=...)``, the
report's own code path, so the numbers are the report's), sends it with its CSV through
the owner's channels (retried like alerts) and records it in the table: the slot sent, and
each store's uptime, which the next digest compares against. As for alerts, the record is
written after the send: a worker killed in between sends that digest again, never zero
times.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import orjson

from streamproc.core.channels import OPERATOR, Audience
from streamproc.core.deliveries import Delivery
from streamproc.core.digests import (
    DAILY,
    WEEKLY,
    digest_csv,
    digest_payload,
    digest_rows,
    digest_text,
    due,
    total_pct,
)
from streamproc.core.report_rows import FullRow
from streamproc.worker.alerting import Alerting
from streamproc.worker.notifier import Message

log = logging.getLogger("streamproc.worker.digests")
CHECK_S = 30.0  # how often due digests are looked for
SnapshotFn = Callable[[int], Awaitable[Sequence[FullRow]]]  # the report's rows at as_of
SaveFn = Callable[[bytes, bytes], Awaitable[None]]  # a row of the alerts table, durable


class Digests:
    """See the module docstring."""

    def __init__(self, alerting: Alerting, snapshot: SnapshotFn, holds: Callable[[], bool],
                 now: Callable[[], int | None], save: SaveFn) -> None:
        self.alerting = alerting
        self.snapshot = snapshot
        # Writes the digest's record to the alerts table naming its partition: the timer runs
        # outside any stream, where Faust's ``table[key] = value`` raises (it needs the
        # current event's partition) and took the worker down after the first digest.
        self.save = save
        self.holds = holds  # does this worker hold the alerts table now?
        self.now = now

    async def tick(self) -> list[dict[str, Any]]:
        """Send every digest due now; their payloads."""
        now = self.now()
        if now is None or not self.holds():
            return []
        sent = []
        for audience in self.alerting.book.digest_audiences():
            for kind in (DAILY, WEEKLY):
                key = f"digest:{audience.name}:{kind}".encode()
                last = self.alerting.read(key) or {}
                slot = due(audience, kind, now, last.get("end_us"))
                if slot is not None:
                    sent.append(await self._send(audience, kind, slot, last, key))
        return sent

    async def _send(self, audience: Audience, kind: str, slot: int, last: dict[str, Any],
                    key: bytes) -> dict[str, Any]:
        rows = await self.snapshot(slot)
        stores = None if audience.name == OPERATOR else self.alerting.book.stores_of(
            audience.name)
        digest = digest_rows(rows, kind, stores, last.get("uptime", {}))
        payload = digest_payload(audience.name, kind, slot, digest, last.get("total"))
        title, body = digest_text(payload)
        name = f"uptime-{kind}-{payload['period_end'][:10]}.csv"
        message = Message(title, body, payload, ((name, digest_csv(digest).encode()),))
        outcomes = [await self.alerting.send(Delivery(audience.name, url), message)
                    for url in audience.urls]
        await self.save(key, orjson.dumps({
            "end_us": slot, "total": total_pct(digest),
            "uptime": {r.store_id: r.pct for r in digest if r.pct is not None},
            "deliveries": [d.to_json() for d in outcomes]}))
        log.info("%s digest of %s for %s: %s", kind, audience.name, payload["period_end"],
                 ", ".join(d.status for d in outcomes))
        return payload
