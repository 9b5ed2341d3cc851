"""The Kafka side of the replay: topic creation, the producer and `KafkaSink`.

`KafkaSink` has two modes:

* ``batch`` (default): one open `BatchBuilder` per topic-partition, filled in the caller's
  loop and submitted with `send_batch` when full or on `flush`. The partition of a key is
  computed by the producer's own partitioner (`AIOKafkaProducer._partition`, i.e. the
  default murmur2 partitioner), exactly as a keyed `send()` would pick it.
* ``send``: `producer.send()` per message without awaiting each delivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from streamproc.config import Settings
from streamproc.topics import TopicSpec, input_topics

CONNECT_TIMEOUT = 10.0  # seconds to reach the broker before giving up
BATCH_BYTES = 512 * 1024  # record batch size; a poll message is at most ~340 KB
LINGER_MS = 10


class BrokerUnavailable(RuntimeError):
    """The broker cannot be reached (or refused a request) within the time limit."""


def replay_topics(settings: Settings) -> list[TopicSpec]:
    """The topics the replay writes: the input topics and the dead-letter topic."""
    return input_topics(settings) + [TopicSpec(settings.topic_deadletter, 1)]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


async def ensure_topics(
    bootstrap: str, specs: Iterable[TopicSpec], timeout: float = CONNECT_TIMEOUT
) -> list[str]:
    """Create the missing topics; returns warnings (e.g. an existing topic's partition count
    differs from the layout). Raises BrokerUnavailable when the broker cannot be reached."""
    specs = list(specs)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    try:
        await asyncio.wait_for(admin.start(), timeout)
    except (TimeoutError, KafkaError, OSError) as exc:
        await _quietly(admin.close())
        raise BrokerUnavailable(f"cannot reach Kafka at {bootstrap} ({_reason(exc)})") from None
    warnings: list[str] = []
    try:
        new = [
            NewTopic(
                name=s.name,
                num_partitions=s.partitions,
                replication_factor=1,
                topic_configs={"cleanup.policy": "compact"} if s.compacted else {},
            )
            for s in specs
        ]
        response = await asyncio.wait_for(admin.create_topics(new), 30)
        for item in response.topic_errors:
            name, code = item[0], item[1]
            if code and code != TopicAlreadyExistsError.errno:
                message = item[2] if len(item) > 2 and item[2] else for_code(code).__name__
                raise BrokerUnavailable(f"cannot create topic {name}: {message}")
        found = await _wait_for_leaders(admin, [s.name for s in specs], timeout)
        for s in specs:
            if s.name in found and found[s.name] != s.partitions:
                warnings.append(
                    f"topic {s.name} has {found[s.name]} partitions, the layout wants "
                    f"{s.partitions} (stores may not be co-partitioned)"
                )
    except (TimeoutError, KafkaError, OSError) as exc:
        raise BrokerUnavailable(f"Kafka at {bootstrap} failed: {_reason(exc)}") from None
    finally:
        await _quietly(admin.close())
    return warnings


async def _wait_for_leaders(
    admin: AIOKafkaAdminClient, names: list[str], timeout: float
) -> dict[str, int]:
    """Wait until every partition of the topics has a leader (a new topic takes a moment;
    producing before that only earns retries). Returns the partition count per topic."""
    deadline = time.monotonic() + timeout
    while True:
        described = await asyncio.wait_for(admin.describe_topics(names), 30)
        found = {t["topic"]: len(t["partitions"]) for t in described if not t["error_code"]}
        ready = len(found) == len(set(names)) and all(
            p["leader"] >= 0 and not p["error_code"] for t in described for p in t["partitions"]
        )
        if ready or time.monotonic() >= deadline:
            return found
        await asyncio.sleep(0.1)


async def _quietly(aw: Any) -> None:
    with contextlib.suppress(Exception):  # closing after a failure: the first error matters
        await aw


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
    try:
        await asyncio.wait_for(producer.start(), timeout)
    except (TimeoutError, KafkaError, OSError) as exc:
        await _quietly(producer.stop())
        raise BrokerUnavailable(f"cannot reach Kafka at {bootstrap} ({_reason(exc)})") from None
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
        self._known_topics: set[str] = set()
        self._futures: list[asyncio.Future] = []

    async def partition_for(self, topic: str, key: bytes) -> int:
        """The partition the producer's partitioner picks for `key` (cached)."""
        cached = self._partitions.get((topic, key))
        if cached is not None:
            return cached
        if topic not in self._known_topics:
            await self.producer.partitions_for(topic)  # waits for the topic's metadata
            self._known_topics.add(topic)
        partition = self.producer._partition(topic, None, None, None, key, None)
        if len(self._partitions) < 1_000_000:
            self._partitions[(topic, key)] = partition
        return partition

    async def partitions_of(self, topic: str) -> int:
        return len(await self.producer.partitions_for(topic))

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
