"""The soak's producers: the live replay of the polls, and bursts of public events.

:class:`LivePublisher` is `streamproc replay --speed`'s live mode run in-process (the same
pacing, ``producers.pacing.run_paced``, the same packed per-partition messages and the same
idempotent ``acks=all`` producer) on a thread of its own, for one reason: the soak must know,
at every moment, up to which event time the broker has **acknowledged** every poll
(:attr:`LivePublisher.acked_us`). A report triggered after that includes all of those polls,
which is what makes its check exact. A slice whose delivery fails (a broker node just died)
is sent again, as any producer would; duplicates change nothing.

:func:`publish_events` sends a burst of JSON events straight to the events topic with a plain
aiokafka producer, as any client would (docs/events.md).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from producers import grouping
from producers.kafka_io import KafkaSink, start_producer
from producers.pacing import run_paced
from producers.replay import SPEED_TICK, Replayer, Topics
from streamproc.config import Settings
from streamproc.core.records import Poll
from streamproc.soak.data import Message

DELIVERY_PATIENCE_S = 180.0  # a slice not delivered after this long fails the soak
RETRY_PAUSE_S = 1.0


class LivePublisher:
    """Sends ``polls`` (sorted by time) at ``speed`` times real time to the pipeline of
    ``settings``; :meth:`start` it, then read :attr:`acked_us` and :attr:`sent_us`."""

    def __init__(self, settings: Settings, polls: Sequence[Poll], speed: float, log) -> None:
        self.settings = settings
        self.polls = polls
        self.speed = speed
        self.log = log
        self.acked_us = polls[0][1] - 1  # every poll at or before it is acknowledged
        self.sent_us = polls[0][1] - 1  # no poll after it was handed to the producer
        self.sent = 0
        self.retries = 0
        self.error: BaseException | None = None
        self.done = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._main, name="live-replay", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop at the next slice (used when the soak is interrupted)."""
        self._stopping = True
        self._thread.join(timeout=60)

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as exc:  # noqa: BLE001 - reported by the soak
            self.error = exc
            self.log(f"live replay failed: {exc!r}")
        finally:
            self.done.set()

    async def _run(self) -> None:
        producer = await start_producer(self.settings.bootstrap)
        replayer = Replayer(KafkaSink(producer), Topics.from_settings(self.settings))
        try:
            await run_paced(self.polls, self.speed, lambda part, cutoff:
                            self._slice(replayer, producer, part, cutoff),
                            clock=time.monotonic, sleep=asyncio.sleep, tick=SPEED_TICK,
                            stopped=lambda: self._stopping)
        finally:
            await producer.stop()

    async def _slice(self, replayer: Replayer, producer: AIOKafkaProducer,
                     part: Sequence[Poll], cutoff: int) -> None:
        """One slice, sent until the broker acknowledged all of it."""
        self.sent_us = cutoff
        deadline = time.monotonic() + DELIVERY_PATIENCE_S
        while True:
            try:
                await replayer.send_packed_polls(grouping.group_polls(part))
                await replayer.sink.flush()
                break
            except Exception as exc:  # noqa: BLE001 - a node died: send the slice again
                if time.monotonic() > deadline:
                    raise
                self.retries += 1
                self.log.quiet(f"live replay: slice not acknowledged ({exc!r}); sending again")
                replayer.sink = KafkaSink(producer)  # the failed one keeps its error
                await asyncio.sleep(RETRY_PAUSE_S)
        self.acked_us = cutoff
        self.sent += len(part)


async def _publish(bootstrap: str, batch: list[Message]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for topic, key, value in batch]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def publish_events(bootstrap: str, batch: list[Message], patience_s: float = 120.0) -> int:
    """Send every message as any client would (keyless ones spread by aiokafka's default
    partitioner); the whole burst is sent again when a delivery fails. The attempts made."""
    deadline = time.monotonic() + patience_s
    attempt = 0
    while True:
        attempt += 1
        try:
            asyncio.run(_publish(bootstrap, batch))
            return attempt
        except Exception:  # noqa: BLE001 - a node died mid-burst: send it all again
            if time.monotonic() > deadline:
                raise
            time.sleep(RETRY_PAUSE_S)
