"""The Kafka side of the replay: topic creation, the producer and `KafkaSink`.

`KafkaSink` has two modes:

* ``batch`` (default): one open `BatchBuilder` per topic-partition, filled in the caller's
  loop and submitted with `send_batch` when full or on `flush`. The partition of a key is
  Kafka's default murmur2 partitioner (:mod:`streamproc.kafka.partitioning`), exactly what a
  keyed `send()` would pick.
* ``send``: `producer.send()` per message without awaiting each delivery.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer

from streamproc import config
from streamproc.config import Settings
from streamproc.kafka import topics
from streamproc.kafka.partitioning import partition_of_key
from streamproc.kafka.topics import (
    CONNECT_TIMEOUT,
    BrokerUnavailable,
    TopicSpec,
    connect,
    input_topics,
)

__all__ = ["BrokerUnavailable", "KafkaSink", "ensure_topics", "replay_topics", "start_producer"]

BATCH_BYTES = 512 * 1024  # record batch size; a poll message is at most ~340 KB
LINGER_MS = 10


async def ensure_topics(
    bootstrap: str,
    specs: list[TopicSpec],
    timeout: float = CONNECT_TIMEOUT,
    replication: int | None = None,
) -> list[str]:
    """:func:`streamproc.kafka.topics.ensure_topics` with, unless given, the replication
    factor of the settings (``STREAMPROC_REPLICATION``, as the worker's topics): the replay
    creates the input topics when it runs first, so they get as many copies as the rest."""
    if replication is None:
        replication = config.load().replication
    return await topics.ensure_topics(bootstrap, specs, timeout, replication)


def replay_topics(settings: Settings) -> list[TopicSpec]:
    """The topics the replay writes: the input topics and the dead-letter topic."""
    return input_topics(settings) + [TopicSpec(settings.topic_deadletter, 1)]


async def start_producer(bootstrap: str, timeout: float = CONNECT_TIMEOUT) -> AIOKafkaProducer:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=LINGER_MS,
        max_batch_size=BATCH_BYTES,
        compression_type=None,  # lz4 would need an extra package; localhost needs none
        request_timeout_ms=30_000,
    )
    await connect(producer.start, producer.stop, bootstrap, timeout)
    return producer


class KafkaSink:
    """`Sink` writing to Kafka through one idempotent producer."""

    def __init__(self, producer: AIOKafkaProducer, mode: str = "batch") -> None:
        if mode not in ("batch", "send"):
            raise ValueError(f"mode must be 'batch' or 'send', not {mode!r}")
        self.producer = producer
        self.mode = mode
        self._builders: dict[tuple[str, int], Any] = {}
        self._partitions: dict[tuple[str, bytes], int] = {}
        self._known_topics: dict[str, int] = {}
        self._futures: list[asyncio.Future] = []

    async def partition_for(self, topic: str, key: bytes) -> int:
        """The partition the producer's partitioner picks for `key` (cached)."""
        cached = self._partitions.get((topic, key))
        if cached is not None:
            return cached
        partition = partition_of_key(key, await self.partitions_of(topic))
        if len(self._partitions) < 1_000_000:
            self._partitions[(topic, key)] = partition
        return partition

    async def partitions_of(self, topic: str) -> int:
        """The topic's partition count (the first call waits for its metadata)."""
        count = self._known_topics.get(topic)
        if count is None:
            count = self._known_topics[topic] = len(await self.producer.partitions_for(topic))
        return count

    async def send(self, topic: str, key: bytes, value: bytes | None) -> None:
        partition = None if self.mode == "send" else await self.partition_for(topic, key)
        await self.send_to(topic, partition, key, value)

    async def send_to(
        self, topic: str, partition: int | None, key: bytes | None, value: bytes | None
    ) -> None:
        if self.mode == "send" or partition is None:
            future = await self.producer.send(topic, value, key=key, partition=partition)
            self._futures.append(future)
            if len(self._futures) >= 50_000:
                await self._check(wait=True)
            return
        tp = (topic, partition)
        builder = self._builders.get(tp)
        if builder is None:
            builder = self._builders[tp] = self.producer.create_batch()
        if builder.append(timestamp=None, key=key, value=value) is not None:
            return
        # Full: ship it and start a new one (a first record always fits, whatever its size).
        del self._builders[tp]
        await self._submit(tp, builder)
        builder = self._builders[tp] = self.producer.create_batch()
        if builder.append(timestamp=None, key=key, value=value) is None:  # pragma: no cover
            raise ValueError(f"message for {topic} too large ({len(value or b'')} bytes)")

    async def _submit(self, tp: tuple[str, int], builder: Any) -> None:
        if builder.record_count() == 0:
            return
        future = await self.producer.send_batch(builder, tp[0], partition=tp[1])
        self._futures.append(future)
        if len(self._futures) >= 10_000:
            await self._check(wait=False)

    async def _check(self, wait: bool) -> None:
        """Raise the first delivery error; forget delivered futures."""
        if wait and self._futures:
            await asyncio.wait(self._futures)
        pending = []
        for future in self._futures:
            if not future.done():
                pending.append(future)
            elif future.exception() is not None:
                raise future.exception()  # type: ignore[misc]
        self._futures = pending

    async def flush(self) -> None:
        builders, self._builders = self._builders, {}
        for tp, builder in builders.items():
            await self._submit(tp, builder)
        await self.producer.flush()
        await self._check(wait=True)
