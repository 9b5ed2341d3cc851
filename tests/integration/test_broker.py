"""Produce and consume through the real local Kafka broker with aiokafka."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streamproc.sandbox import unique_name

PARTITIONS = 8


async def _described(admin: AIOKafkaAdminClient, topic: str, timeout: float = 15.0) -> list:
    """The topic's description once its metadata has reached the broker answering (right
    after creation a busy broker can still say UNKNOWN_TOPIC_OR_PARTITION, error code 3)."""
    async with asyncio.timeout(timeout):
        while True:
            described = await admin.describe_topics([topic])
            if all(t["error_code"] == 0 for t in described):
                return described
            await asyncio.sleep(0.1)


async def _roundtrip(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]]):
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name=topic, num_partitions=PARTITIONS, replication_factor=1)]
        )
        described = await _described(admin, topic)
    finally:
        await admin.close()

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        metas = [await producer.send_and_wait(topic, value=v, key=k) for k, v in messages]
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=unique_name("group"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    received = []
    try:
        async with asyncio.timeout(60):
            while len(received) < len(messages):
                batch = await consumer.getmany(timeout_ms=1000)
                for records in batch.values():
                    received.extend(records)
    finally:
        await consumer.stop()
    return described, metas, received


def test_topic_produce_consume(kafka_broker: str) -> None:
    topic = unique_name("broker-test")
    messages = [(f"store-{i % 5}".encode(), f"poll-{i}".encode()) for i in range(40)]

    described, metas, received = asyncio.run(_roundtrip(kafka_broker, topic, messages))

    (info,) = described
    assert info["topic"] == topic
    assert info["error_code"] == 0
    assert len(info["partitions"]) == PARTITIONS

    # Same key -> same partition, and order within a key is kept.
    partition_of: dict[bytes, int] = {}
    for (key, _), meta in zip(messages, metas, strict=True):
        assert partition_of.setdefault(key, meta.partition) == meta.partition
    assert {r.partition for r in received} == set(partition_of.values())

    assert sorted((r.key, r.value) for r in received) == sorted(messages)
    for key in partition_of:
        sent = [v for k, v in messages if k == key]
        got = [r.value for r in received if r.key == key]
        assert got == sent
        assert all(r.partition == partition_of[key] for r in received if r.key == key)


def test_auto_created_topic_has_default_partitions(kafka_broker: str) -> None:
    topic = unique_name("broker-auto")

    async def go() -> int:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_broker)
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"x", key=b"k")
            return len(await producer.partitions_for(topic))
        finally:
            await producer.stop()

    assert asyncio.run(go()) == PARTITIONS
