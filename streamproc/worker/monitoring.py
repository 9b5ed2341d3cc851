"""Live monitoring inside the worker: outage events, webhook alerts, the /live fan-out and
the fleet figures. The rules are pure (:mod:`streamproc.core.outages`); this is the shell.

* :meth:`Monitor.on_status` is the Processor's ``on_status`` hook: a change of a store's
  latest observation may publish a ``down``/``up`` event to the outages topic.
* :meth:`Monitor.scan` (a 1 s timer) looks at the stores that are down for outages that
  reached the alert threshold (``sustained`` events).
* With ``STREAMPROC_ALERT_WEBHOOK`` set, :meth:`Monitor.send_alerts` (an agent on the
  outages topic: one partition, so one worker runs it) POSTs alerts; what was sent is kept
  per store in the changelogged table ``outage-alerts``, so a restart never sends an alert
  twice.

The topic, table, agent and timer are declared by ``streamproc.worker.app``.
* :class:`OutageFeed` reads the outages topic from its end with one aiokafka consumer per
  worker and fans it out to bounded per-client queues (slow clients are dropped).
* :class:`Fleet` computes fleet figures from this worker's stores, cached for a moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import faust
import orjson
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from streamproc import metrics
from streamproc.config import Settings
from streamproc.core import live_quota
from streamproc.core.alert_rules import OPENING_LOOKBACK_US, OpeningTracker
from streamproc.core.outages import (
    SustainedTracker,
    status_event,
)
from streamproc.core.records import US_PER_HOUR, US_PER_MINUTE
from streamproc.core.state import StoreState
from streamproc.worker.alerting import Alerting
from streamproc.worker.channel_book import ChannelBook
from streamproc.worker.notifier import ChannelNotifier, Notifier
from streamproc.worker.processing import Processor

log = logging.getLogger("streamproc.worker.monitoring")

SCAN_INTERVAL_S = 1.0
OPENING_SCAN_S = 10.0  # "did not open" is a matter of minutes: every store every 10 s
ALERT_ATTEMPTS = 10  # about 3.5 minutes of retries, then the alert is recorded as failed
ALERT_TIMEOUT_S = 10.0
FLEET_TTL_S = 1.0  # a changed pipeline is re-read at most once a second
HOURLY_TTL_S = 10.0
YIELD_EVERY = 500
LIVE_QUEUE = 256  # events buffered per /live client before it counts as slow


class Monitor:
    """Outage events and alerts of one worker; see the module docstring."""

    def __init__(self, settings: Settings, processor: Processor, outages: faust.TopicT,
                 alerts_table: faust.Table | None, notifier: Notifier | None = None) -> None:
        self.processor = processor
        self.outages = outages
        self.alerts_table = alerts_table  # None: no webhook and no channels configured
        self.alerting: Alerting | None = None
        if alerts_table is not None:
            book = ChannelBook(settings.channels_file, settings.owners_file,
                               settings.alert_webhook)
            self.alerting = Alerting(alerts_table, book, notifier or ChannelNotifier(),
                                     settings.alert_attempts, settings.notify_delay_s)
        self.tracker = SustainedTracker(int(settings.alert_after_min * US_PER_MINUTE))
        self.openings = OpeningTracker(int(settings.no_open_after_min * US_PER_MINUTE))
        self.down: set[str] = set()  # stores whose latest observation is inactive
        self.feed = OutageFeed(settings.bootstrap, settings.topic_outages,
                               settings.live_max_clients, settings.live_max_per_principal)
        self.fleet = Fleet(processor, self.down)
        self.webhook = settings.alert_webhook

    def forget_partitions(self) -> None:
        """After a rebalance: which stores are down here is read again from the states."""
        self.down.clear()
        self.fleet.invalidate()

    # -- outage events (owner side) ----------------------------------------------------------

    def on_status(self, state: StoreState, before, after) -> None:
        if after is not None and not after[1]:
            self.down.add(state.store_id)
        else:
            self.down.discard(state.store_id)
        now = self.processor.watermarks.now()
        if now is None:
            return
        outage_since = None
        if before is not None and not before[1]:
            run = state.status_since(before[0])
            outage_since = run[0] if run else before[0]
        event = status_event(state.store_id, before, after, now, outage_since,
                             state.business_time)
        if event is not None:
            self.publish(event, state)

    def publish(self, event: dict[str, Any], state: StoreState) -> None:
        event["timezone"] = state.tz  # the alerts' quiet windows are in the store's zone
        event["emitted_ms"] = int(time.time() * 1000)
        metrics.count_outage_event(event["kind"])
        self.outages.send_soon(key=event["store_id"].encode(), value=orjson.dumps(event))

    async def scan(self) -> None:
        processor = self.processor
        now = processor.watermarks.now()
        if now is None or not self.down:
            return
        for store_id in list(self.down):
            state = processor.cache.get(store_id)
            latest = state.latest_observation(now)
            if latest is None or latest[1]:
                self.down.discard(store_id)
                self.tracker.check(store_id, latest, now, state.business_time)
                continue
            event = self.tracker.check(store_id, state.status_since(now), now,
                                       state.business_time, state.is_open(now))
            if event is not None:
                self.publish(event, state)

    async def scan_openings(self) -> None:
        """``no_open`` events: stores of this worker not seen active within the grace after
        an opening (only when alerts are on: nobody else reads them)."""
        processor = self.processor
        now = processor.watermarks.now()
        if now is None or self.alerting is None:
            return
        lo = now - OPENING_LOOKBACK_US
        for i, store_id in enumerate(list(processor.cache.store_ids())):
            if i % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)
            state = processor.cache.get(store_id)
            if state.hours is None and state.special is None:
                continue  # open 24x7: it never opens
            if state.latest_observation(now) is None:
                continue  # nothing seen within the horizon: not a store we watch
            event = self.openings.check(store_id, state.business_pieces(lo, now + 1), lo, now,
                                        state.is_open(now), state.observations)
            if event is not None:
                self.publish(event, state)

    # -- alerts (the one worker that owns the outages partition) ----------------------------

    async def send_alerts(self, stream: faust.StreamT) -> None:
        """Each outage event through :class:`~streamproc.worker.alerting.Alerting`; the
        event is acknowledged once its messages are sent and recorded."""
        alerting = self.alerting
        async for event in stream.events():
            try:
                doc = orjson.loads(event.message.value or b"")
                str(doc["store_id"])
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue
            await alerting.handle(doc)

    def alert_history(self, store_id: str) -> list[dict[str, Any]] | None:
        """The store's alerts, newest last; None when alerts are off."""
        return None if self.alerting is None else self.alerting.history(store_id)


# -- /live fan-out ------------------------------------------------------------------------------


@dataclass(eq=False)
class Subscriber:
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(LIVE_QUEUE))
    dropped: bool = False
    caller: str = ""  # the principal's key: its streams are counted against its cap


class TooManyClients(ConnectionError):
    """The /live subscriber cap of the worker is reached (everyone waits)."""

    callers_own = False  # 503: the worker is full


class TooManyOfYours(TooManyClients):
    """The caller's own /live cap is reached (only they wait)."""

    callers_own = True  # 429: the caller's doing


class OutageFeed:
    """One consumer of the outages topic (from its end), fanned out to subscribers."""

    def __init__(self, bootstrap: str, topic: str, max_clients: int = 1000,
                 max_per_caller: int = 20) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.max_clients = max_clients
        self.max_per_caller = max_per_caller
        self.subscribers: set[Subscriber] = set()
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task | None = None
        self._lock = asyncio.Lock()

    async def subscribe(self, caller: str = "", capped: bool = False) -> Subscriber:
        """A new subscriber for ``caller`` (a principal's key); it sees every event published
        after this returns. Raises :class:`TooManyOfYours` when ``capped`` and the caller
        already holds its share, :class:`TooManyClients` when ``max_clients`` already
        listen (file descriptors are shared with RocksDB and Kafka)."""
        held = sum(1 for s in self.subscribers if s.caller == caller)
        refused = live_quota.refusal(held, len(self.subscribers), self.max_per_caller,
                                     self.max_clients, capped)
        if refused is not None:
            kind = TooManyOfYours if refused.cap == live_quota.CALLER else TooManyClients
            raise kind(refused.reason)
        await self._ensure_started()
        sub = Subscriber(caller=caller)
        self.subscribers.add(sub)
        metrics.set_live_clients(len(self.subscribers))
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)
        metrics.set_live_clients(len(self.subscribers))

    async def _ensure_started(self) -> None:
        async with self._lock:
            if self._task is not None and not self._task.done():
                return
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False,
                fetch_max_wait_ms=10, auto_offset_reset="latest",
            )
            await consumer.start()
            parts = consumer.partitions_for_topic(self.topic)
            if not parts:
                await consumer.topics()  # refresh metadata once
                parts = consumer.partitions_for_topic(self.topic) or {0}
            tps = [TopicPartition(self.topic, p) for p in sorted(parts)]
            consumer.assign(tps)
            await consumer.seek_to_end(*tps)
            for tp in tps:
                await consumer.position(tp)  # fix the start now, not at the first fetch
            self._consumer = consumer
            self._task = asyncio.create_task(self._run(consumer))

    async def _run(self, consumer: AIOKafkaConsumer) -> None:
        try:
            async for msg in consumer:
                item = (msg.offset, msg.value)
                for sub in list(self.subscribers):
                    try:
                        sub.queue.put_nowait(item)
                    except asyncio.QueueFull:
                        sub.dropped = True  # never wait for a slow client
                        self.subscribers.discard(sub)
                        metrics.LIVE_DROPPED.inc()
                        metrics.set_live_clients(len(self.subscribers))
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - restart on the next subscribe
            log.exception("outage feed consumer failed")
        finally:
            await consumer.stop()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


# -- fleet figures --------------------------------------------------------------------------


WINDOWS = ("hour", "day", "week")


class Fleet:
    """Fleet figures over this worker's stores, recomputed at most every few seconds."""

    def __init__(self, processor: Processor, down: set[str]) -> None:
        self.processor = processor
        self.down = down  # the monitor's set of stores seen inactive: kept up to date here
        self._rows: tuple[float, int | None, list[tuple], tuple] | None = None
        self._hourly: tuple[float, int | None, dict[str, Any]] | None = None
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._rows = None
        self._hourly = None

    async def rows(self) -> tuple[int | None, list[tuple]]:
        """(now, [(store_id, status, open_now, v0..v5)]) for every store of this worker."""
        async with self._lock:
            processor = self.processor
            now = processor.watermarks.now()
            key = (now, processor.stats.saves, len(processor.cache))
            if self._rows is not None and (
                self._rows[3] == key or time.monotonic() - self._rows[0] < FLEET_TTL_S
            ):
                return self._rows[1], self._rows[2]
            rows = []
            for i, store_id in enumerate(list(processor.cache.store_ids())):
                state = processor.cache.get(store_id)
                if now is None:
                    rows.append((store_id, None, False, 0, 0, 0, 0, 0, 0))
                    continue
                latest = state.latest_observation(now)
                status = None if latest is None else ("active" if latest[1] else "inactive")
                if status == "inactive":
                    self.down.add(store_id)
                rows.append((store_id, status, state.is_open(now), *state.values(now)))
                if i % YIELD_EVERY == YIELD_EVERY - 1:
                    await asyncio.sleep(0)
            self._rows = (time.monotonic(), now, rows, key)
            return now, rows

    async def hourly(self, hours: int = 7 * 24,
                     stores: frozenset[str] | None = None) -> dict[str, Any]:
        """Per-hour fleet up/down business seconds for the last ``hours`` hours to ``now``
        (over ``stores`` only when given: an owner's view, not cached)."""
        now = self.processor.watermarks.now()
        cached = self._hourly
        fresh = cached is not None and time.monotonic() - cached[0] < HOURLY_TTL_S
        if stores is None and fresh and cached[2]["hours"] == hours:
            return cached[2]
        processor = self.processor
        if now is None:
            return {"watermark_us": None, "hours": hours, "start_hour_us": None,
                    "up_s": [], "down_s": []}
        end_hour = -(-now // US_PER_HOUR)
        start_hour = end_hour - hours
        ups, downs = [0] * hours, [0] * hours
        ids = list(processor.cache.store_ids())
        if stores is not None:
            ids = [s for s in ids if s in stores]
        for i, store_id in enumerate(ids):
            u, d = processor.cache.get(store_id).hourly(start_hour, end_hour, now)
            for k in range(hours):
                ups[k] += u[k]
                downs[k] += d[k]
            if i % 200 == 199:
                await asyncio.sleep(0)
        result = {
            "watermark_us": now,
            "hours": hours,
            "start_hour_us": start_hour * US_PER_HOUR,
            "up_s": [u / 1e6 for u in ups],
            "down_s": [d / 1e6 for d in downs],
        }
        if stores is None:
            self._hourly = (time.monotonic(), now, result)
        return result

