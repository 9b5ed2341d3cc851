"""Re-keying the public ``store-events`` topic into the internal topics (free of Faust).

Producers publish one JSON event per message with any key or none (docs/events.md). The
``events`` agent hands each batch to :func:`forward_events`, which decodes every event
(`core.events.decode_event`; a rejected one goes to the dead-letter callback with its
reason, like a bad CSV row), groups the batch per store as the CSV replay does and sends

* the polls of the batch packed per partition (`core.packing`: one keyless message carries
  many stores, so a batch of one-poll events from many stores costs a few messages, not one
  per store) to the polls topic,
* the last hours event of each store (`wire.encode_hours`: an empty set is a tombstone, "no
  rows", as for a store without hours rows) to the hours topic,
* the last timezone event of each store (`wire.encode_timezone`) to the time zone topic,
* the last special_hours event of each store (`wire.encode_special`: an empty set is a
  tombstone, "no special dates") to the special hours topic,

each to the store's home partition. Every send is acknowledged by the broker before the
batch counts as processed (at least once: a crash before that re-reads the events).

``POST /events`` (web/events.py) hands its decoded body to :func:`publish_batch`, which sends
the same messages straight to the internal topics and returns once the broker has them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from streamproc.core import body_caps, wire
from streamproc.core.event_bodies import Batch
from streamproc.core.events import (
    Event,
    HoursEvent,
    PollEvent,
    SpecialHoursEvent,
    decode_event,
)
from streamproc.core.packing import packed_messages
from streamproc.kafka.partitioning import partition_of
from streamproc.worker.processing import Incoming, Processor
from streamproc.worker.slices import time_slices

POLLS, HOURS, TIMEZONES, SPECIAL = "polls", "hours", "timezones", "special_hours"

# (internal topic: "polls" | "hours" | "timezones" | "special_hours", partition, key, value)
# -> a future that resolves when the broker has the message (Faust's ``await topic.send()``).
SendFn = Callable[[str, int, bytes | None, bytes | None], Awaitable[Awaitable[Any]]]


@dataclass
class Outbox:
    """One batch of events grouped per store, ready to be sent."""

    polls: dict[str, list[tuple[int, bool]]] = field(default_factory=dict)
    hours: dict[str, tuple[tuple[int, int, int], ...]] = field(default_factory=dict)
    timezones: dict[str, str] = field(default_factory=dict)
    special: dict[str, tuple[tuple[int, int, int], ...]] = field(default_factory=dict)

    def add(self, event: Event) -> None:
        if isinstance(event, PollEvent):
            self.polls.setdefault(event.store_id, []).append((event.ts_us, event.active))
        elif isinstance(event, HoursEvent):
            self.hours.pop(event.store_id, None)  # keep the arrival order of the last one
            self.hours[event.store_id] = event.rows
        elif isinstance(event, SpecialHoursEvent):
            self.special.pop(event.store_id, None)
            self.special[event.store_id] = event.rows
        else:
            self.timezones.pop(event.store_id, None)
            self.timezones[event.store_id] = event.tz

    def messages(self, partitions: int) -> Iterator[tuple[str, int, bytes | None, bytes | None]]:
        """``(internal topic, partition, key, value)``; zones and hours (keyed by store) before
        the polls, packed: one keyless message carries many stores of one partition."""
        for store_id, tz in self.timezones.items():
            yield (TIMEZONES, partition_of(store_id, partitions), store_id.encode(),
                   wire.encode_timezone(tz))
        for store_id, rows in self.hours.items():
            yield (HOURS, partition_of(store_id, partitions), store_id.encode(),
                   wire.encode_hours(rows))
        for store_id, rows in self.special.items():
            yield (SPECIAL, partition_of(store_id, partitions), store_id.encode(),
                   wire.encode_special(rows))
        home = lambda store_id: partition_of(store_id, partitions)  # noqa: E731
        for partition, value, _ in packed_messages(self.polls, home):
            yield POLLS, partition, None, value


def sort_events(messages: Iterable[Incoming], reject: Callable[[Incoming, str], None],
                outbox: Outbox | None = None) -> Outbox:
    """Decode a batch of event messages into an :class:`Outbox` (a new one, or ``outbox``
    added to); reject what is bad."""
    outbox = Outbox() if outbox is None else outbox
    for msg in messages:
        event = decode_event(msg.value)
        if isinstance(event, str):
            reject(msg, event)
        else:
            outbox.add(event)
    return outbox


async def forward_events(messages: Iterable[Incoming], processor: Processor, send: SendFn,
                         partitions: int) -> int:
    """Re-key a batch (see the module docstring); return the number of messages sent once
    the broker has acknowledged all of them."""
    return await (await hand_over_events(messages, processor, send, partitions))


async def hand_over_events(messages: Iterable[Incoming], processor: Processor, send: SendFn,
                           partitions: int) -> Awaitable[int]:
    """Re-key a batch and queue its messages with the producer; the returned awaitable
    gives their number once the broker acknowledged all of them, and only then counts the
    events as processed (a snapshot waits for that), so the next batch can be decoded while
    the broker is busy with this one."""
    batch = list(messages)
    outbox = Outbox()
    async for part in time_slices(batch):  # decoding thousands of events holds the loop
        sort_events(part, processor.reject, outbox)
    acks = await enqueue_outbox(outbox, send, partitions)

    async def acknowledged() -> int:
        await asyncio.gather(*acks)
        for msg in batch:
            processor.mark(msg)
        return len(acks)

    return acknowledged()


async def publish_batch(batch: Batch, processor: Processor, send: SendFn,
                        partitions: int) -> int:
    """An HTTP body's events (its rejections go to the dead-letter callback, counted like a
    topic's): the number of messages sent, once the broker has acknowledged them all."""
    for rejection in batch.rejections:  # every one counted, a few dead-lettered each
        processor.count_rejection(rejection)
    for letter in body_caps.dead_letters(batch.rejections):
        processor.dead_letter(letter)
    outbox = Outbox()
    for event in batch.events:
        outbox.add(event)
    return await send_outbox(outbox, send, partitions)


async def send_outbox(outbox: Outbox, send: SendFn, partitions: int) -> int:
    """Send every message of ``outbox`` to its store's home partition; wait for the acks."""
    pending = await enqueue_outbox(outbox, send, partitions)
    await asyncio.gather(*pending)
    return len(pending)


async def enqueue_outbox(outbox: Outbox, send: SendFn, partitions: int) -> list[Awaitable[Any]]:
    """Queue every message of ``outbox`` with the producer, in order; the futures of the
    broker's acknowledgements."""
    return [await send(topic, partition, key, value)
            for topic, partition, key, value in outbox.messages(partitions)]
