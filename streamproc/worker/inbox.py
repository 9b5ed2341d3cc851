"""Messages of one topic waiting for the task that applies them in batches (no Faust here).

Faust hands every message to its agents through an Event, a queue and a stream iteration
(about 40 µs a message on this machine): for topics of one small message per store or per
event (hours, time zones, special hours, public events) that, not the work, bounded the
worker at a few thousand messages a second. The consumer puts such a topic's messages into
an :class:`Inbox` instead (``faust_compat.batched_topic``), and one task takes whatever has
arrived as one batch.

Bounded without blocking the consumer: when ``limit`` messages wait, :meth:`Inbox.put`
says so and the consumer stops fetching that partition (Faust's ``on_buffer_full``, as for a
stream's full queue) until the inbox is down to half (:meth:`Inbox.when_drained`). The fetch
loop itself never waits for one topic, so a poll is not held behind a backlog of hours.

:func:`run_batches` hands what waits to the handler, up to :data:`MAX_IN_FLIGHT` batches
ahead of the broker's acknowledgements: the next batch is decoded and applied while the
broker writes the previous one's output (half the time went to that wait before).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from streamproc.worker.processing import Incoming

log = logging.getLogger("streamproc.worker.inbox")

M = TypeVar("M")
# Hand a batch over (state applied, output queued); the awaitable it returns finishes when
# the batch is durable (its output acknowledged by the broker).
BatchFn = Callable[[list[Incoming]], Awaitable[Awaitable[object]]]
MAX_IN_FLIGHT = 4  # batches handed over and not yet durable
RETRY_MAX_S = 5.0


class Inbox(Generic[M]):
    """A FIFO handed out in batches; :meth:`clear` drops what waits (a rebalance)."""

    def __init__(self, limit: int = 8192) -> None:
        self.limit = limit
        self._messages: list[M] = []
        self._ready = asyncio.Event()  # set while a message waits
        self._drained: list[Callable[[], None]] = []  # one-shot: down to half the limit

    def __len__(self) -> int:
        return len(self._messages)

    def put(self, message: M) -> bool:
        """Add ``message`` (always); False when ``limit`` or more now wait."""
        self._messages.append(message)
        self._ready.set()
        return len(self._messages) < self.limit

    def when_drained(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once, as soon as at most half the limit waits."""
        self._drained.append(callback)
        self._settle()

    async def take(self, max_: int) -> list[M]:
        """The oldest waiting messages, at most ``max_``; waits while there are none."""
        while not self._messages:
            self._ready.clear()
            await self._ready.wait()
        batch = self._messages[:max_]
        del self._messages[:max_]
        self._settle()
        return batch

    def clear(self) -> None:
        """Drop every waiting message (the consumer reads them again after a rebalance)."""
        self._messages.clear()
        self._settle()

    def _settle(self) -> None:
        if not self._messages:
            self._ready.clear()
        if self._drained and len(self._messages) <= self.limit // 2:
            callbacks, self._drained = self._drained, []
            for callback in callbacks:
                callback()


@dataclass
class _Flight:
    messages: list[Any]  # as the consumer gave them: acknowledged once durable
    batch: list[Incoming]
    durable: asyncio.Future


async def run_batches(inbox: Inbox, handle: BatchFn, max_batch: int,
                      current: Callable[[list[Any]], list[Any]],
                      done: Callable[[list[Any]], None]) -> None:
    """Forever: take what waits (at most ``max_batch``), keep what ``current`` keeps (the
    consumer's messages of the present assignment), hand it to ``handle`` and call
    ``done(messages)`` once that batch is durable, oldest first."""
    flights: deque[_Flight] = deque()
    while True:
        if flights and (len(flights) >= MAX_IN_FLIGHT or not len(inbox)):
            await _land(flights, handle, done)
            continue
        messages = current(await inbox.take(max_batch))
        if messages:
            batch = [Incoming(m.topic, m.partition, m.offset, m.key, m.value) for m in messages]
            durable = await _retrying(handle, batch)
            flights.append(_Flight(messages, batch, asyncio.ensure_future(durable)))


async def _land(flights: deque[_Flight], handle: BatchFn,
                done: Callable[[list[Any]], None]) -> None:
    """Wait until the oldest batch in flight is durable and call ``done`` for it. If it
    failed, hand every batch in flight over again, in order, each waited for (so a store's
    last write is still the last one), retrying until the broker takes them."""
    oldest = flights[0]
    try:
        await oldest.durable
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 - logged; redone below
        log.exception("%d messages of %s were not acknowledged; sending %d batches again",
                      len(oldest.batch), oldest.batch[0].topic, len(flights))
        for flight in flights:
            flight.durable.cancel()

        async def durably(batch: list[Incoming]) -> None:
            await (await handle(batch))

        while flights:
            await _retrying(durably, flights[0].batch)
            done(flights.popleft().messages)
        return
    done(flights.popleft().messages)


async def _retrying(handle: Callable[[list[Incoming]], Awaitable[Any]],
                    batch: list[Incoming]) -> Any:
    """``await handle(batch)`` until it succeeds (a broker that is away comes back; applying
    a batch twice changes nothing), with growing pauses and an error logged each time."""
    pause = 0.1
    while True:
        try:
            return await handle(batch)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - logged; the batch is not acknowledged meanwhile
            log.exception("applying %d messages of %s failed; retrying in %.1f s",
                          len(batch), batch[0].topic, pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, RETRY_MAX_S)
