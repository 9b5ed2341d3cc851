"""Alerts from outage events to every channel of a store's audiences, exactly once each.

The agent on the outages topic (one partition: one worker runs it at a time, and the
``outage-alerts`` table moves with it) hands each event to :meth:`Alerting.handle`:

1. the pure rules decide whether it is a message (``core/outages.py:decide_alert`` for
   outages and recoveries, ``core/alert_rules.py:decide_no_open`` for "did not open"),
   from what the table says was already sent for the store;
2. the deliveries are planned (``core/deliveries.py``: one per URL, muted ones recorded) and
   merged with the store's history entry of that alert, so a worker that stopped in the
   middle of an alert sends only what had not been sent;
3. each pending delivery is sent, retried with backoff, and its outcome written to the
   history as soon as it ends; the decision's record is written last.

The event is acknowledged (its offset committed) only after that, so a worker killed
before the message was sent sends it after its restart, or the worker that takes over
does; one killed after the send finds it recorded. The window left is a kill between a
channel accepting the message and the table write reaching Kafka (milliseconds), where a
message may be sent twice; never zero times.

The table is any mutable mapping of bytes to bytes (a Faust table in the worker, a dict in
unit tests). Keys: the store id (outage record), ``open:<store>`` (last opening alerted),
``log:<store>`` (the history, newest last).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, MutableMapping
from dataclasses import replace
from typing import Any

import orjson

from streamproc import metrics
from streamproc.core.alert_rules import NO_OPEN, decide_no_open
from streamproc.core.channels import mask_url
from streamproc.core.deliveries import (
    FAILED,
    PENDING,
    SENT,
    Delivery,
    entry_of,
    find_entry,
    plan,
    render,
    resume,
    with_entry,
)
from streamproc.core.outages import AlertRecord, backoff_delays, decide_alert
from streamproc.worker.channel_book import ChannelBook
from streamproc.worker.notifier import Message, Notifier, NotifyFailed

log = logging.getLogger("streamproc.worker.alerting")
Table = MutableMapping[bytes, Any]


class Alerting:
    """See the module docstring."""

    def __init__(self, table: Table, book: ChannelBook, notifier: Notifier,
                 attempts: int = 10, delay_s: float = 0.0,
                 sleep: Callable[[float], Any] = asyncio.sleep) -> None:
        self.table = table
        self.book = book
        self.notifier = notifier
        self.attempts = max(attempts, 1)
        self.delay_s = delay_s
        self.sleep = sleep

    async def handle(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """Decide and deliver one outage event; the history entry if it was a message."""
        store_id = str(event["store_id"])
        if event.get("kind") == NO_OPEN:
            key = b"open:" + store_id.encode()
            last = self.read(key)
            payload, opening = decide_no_open(last, event)
            entry = await self._deliver(payload, event) if payload else None
            if opening is not None and opening != last:
                self.table[key] = orjson.dumps(opening)
            return entry
        key = store_id.encode()
        raw = self.read(key)
        record = AlertRecord.from_json(raw)
        payload, new = decide_alert(record, event)
        entry = await self._deliver(payload, event) if payload else None
        if entry is not None and new is not None:
            failed = any(d["status"] == FAILED for d in entry["deliveries"])
            new = replace(new, failed=failed)
        if new is not None and new != record:
            self.table[key] = orjson.dumps(new.to_json())
        return entry

    def history(self, store_id: str) -> list[dict[str, Any]]:
        """The store's alerts, newest last."""
        return self.read(b"log:" + store_id.encode()) or []

    def read(self, key: bytes) -> Any:
        """A JSON value of the table (None: absent)."""
        raw = self.table.get(key)
        return orjson.loads(raw) if raw else None

    async def _deliver(self, payload: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
        store_id = payload["store_id"]
        at_us = int(event.get("watermark_us") or 0)
        planned = plan(payload, self.book.audiences(store_id), at_us, event.get("timezone"))
        old = find_entry(self.history(store_id), payload["alert_id"])
        deliveries = resume(planned, old)
        payload = old["payload"] if old else payload  # a resumed alert says what it said
        title, body = render(payload)
        message = Message(title, body, payload)
        self._record(payload, deliveries)
        if self.delay_s and any(d.status == PENDING for d in deliveries):
            await self.sleep(self.delay_s)

        async def one(i: int) -> None:
            deliveries[i] = await self.send(deliveries[i], message)
            self._record(payload, deliveries)

        pending = [i for i, d in enumerate(deliveries) if d.status == PENDING]
        await asyncio.gather(*(one(i) for i in pending))
        for i in pending:
            metrics.count_alert(payload["type"], deliveries[i].status)
        return self._record(payload, deliveries)

    def _record(self, payload: dict[str, Any], deliveries: list[Delivery]) -> dict[str, Any]:
        key = b"log:" + payload["store_id"].encode()
        entry = entry_of(payload, deliveries, int(time.time() * 1000))
        self.table[key] = orjson.dumps(with_entry(self.history(payload["store_id"]), entry))
        return entry

    async def send(self, delivery: Delivery, message: Message) -> Delivery:
        """One delivery, retried with exponential backoff; sent or failed."""
        delays = backoff_delays(self.attempts)
        reason = ""
        for attempt in range(self.attempts):
            try:
                await self.notifier.send(delivery.url, message)
                return replace(delivery, status=SENT, attempts=attempt + 1, reason="")
            except NotifyFailed as exc:
                reason = str(exc)
            except Exception as exc:  # noqa: BLE001 - a plugin's bug must not stop alerts
                reason = type(exc).__name__
            if attempt < len(delays):
                log.warning("alert %s to %s failed (%s); retry in %.1fs",
                            message.payload["alert_id"], mask_url(delivery.url), reason,
                            delays[attempt])
                await self.sleep(delays[attempt])
        log.error("alert %s to %s given up after %d attempts: %s", message.payload["alert_id"],
                  mask_url(delivery.url), self.attempts, reason)
        return replace(delivery, status=FAILED, attempts=self.attempts, reason=reason)
