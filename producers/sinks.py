"""Where replayed messages go: a tiny interface, so the replay logic is testable without Kafka.

`KafkaSink` (in `producers.kafka_io`) writes to the broker; `MemorySink` keeps messages in a
list for unit tests, partitioned with Kafka's default partitioner so tests can check keys
and partitions too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from aiokafka.partitioner import murmur2


class Sink(Protocol):
    async def send(self, topic: str, key: bytes, value: bytes | None) -> None:
        """Queue one message (may wait for room; delivery is confirmed by `flush`)."""

    async def flush(self) -> None:
        """Return once every message queued so far is delivered; raise if one failed."""


def default_partition(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner for a keyed message (murmur2, as the Java client)."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


@dataclass
class SentMessage:
    topic: str
    key: bytes
    value: bytes | None
    partition: int


@dataclass
class MemorySink:
    """Keeps every message; `flushes` counts flush calls (a slice / chunk boundary)."""

    partitions: dict[str, int] = field(default_factory=dict)  # topic -> count (default 1)
    messages: list[SentMessage] = field(default_factory=list)
    flushes: int = 0
    flushed_upto: list[int] = field(default_factory=list)  # len(messages) at each flush

    async def send(self, topic: str, key: bytes, value: bytes | None) -> None:
        n = self.partitions.get(topic, 1)
        self.messages.append(SentMessage(topic, key, value, default_partition(key, n)))

    async def flush(self) -> None:
        self.flushes += 1
        self.flushed_upto.append(len(self.messages))

    def on(self, topic: str) -> list[SentMessage]:
        return [m for m in self.messages if m.topic == topic]
