"""Where replayed messages go: a tiny interface, so the replay logic is testable without Kafka.

`KafkaSink` (in `producers.kafka_io`) writes to the broker; `MemorySink` keeps messages in a
list for unit tests, partitioned with Kafka's default partitioner so tests can check keys
and partitions too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from streamproc.kafka.partitioning import partition_of_key


class Sink(Protocol):
    async def send(self, topic: str, key: bytes, value: bytes | None) -> None:
        """Queue one message (may wait for room; delivery is confirmed by `flush`)."""

    async def send_to(self, topic: str, partition: int, key: bytes | None, value: bytes) -> None:
        """Queue one message for an explicit partition (packed polls have no key)."""

    async def partitions_of(self, topic: str) -> int:
        """How many partitions `topic` has."""

    async def flush(self) -> None:
        """Return once every message queued so far is delivered; raise if one failed."""


default_partition = partition_of_key  # the name the tests know


@dataclass
class SentMessage:
    topic: str
    key: bytes | None
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

    async def send_to(self, topic: str, partition: int, key: bytes | None, value: bytes) -> None:
        if not 0 <= partition < self.partitions.get(topic, 1):
            raise ValueError(f"{topic} has no partition {partition}")
        self.messages.append(SentMessage(topic, key, value, partition))

    async def partitions_of(self, topic: str) -> int:
        return self.partitions.get(topic, 1)

    async def flush(self) -> None:
        self.flushes += 1
        self.flushed_upto.append(len(self.messages))

    def on(self, topic: str) -> list[SentMessage]:
        return [m for m in self.messages if m.topic == topic]
