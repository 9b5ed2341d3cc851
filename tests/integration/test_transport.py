"""The rewinding seek of streamproc.worker.faust_compat, against the real broker.

Faust drops records fetched while its flow is paused and calls ``seek_to_committed`` so they
are read again. Here a group consumer reads a partition without committing (as a worker
killed before its commit does), then seeks back: aiokafka's own seek leaves it at the end,
so the records would be lost; ours rewinds it to the beginning, and to the committed offset
where there is one.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import OffsetAndMetadata, TopicPartition

from streamproc.kafka.topics import TopicSpec, ensure_topics
from streamproc.sandbox import unique_name
from streamproc.worker.faust_compat import RewindingConsumerThread

RECORDS = 5


async def _read_all(consumer: AIOKafkaConsumer, tps: list[TopicPartition]) -> dict:
    """Fetch until every partition's position reaches its end; return the positions."""
    ends = await consumer.end_offsets(tps)
    async with asyncio.timeout(30):
        while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
            await consumer.getmany(*tps, timeout_ms=500)
    return {tp.partition: await consumer.position(tp) for tp in tps}


async def _positions_after_seek(bootstrap: str, rewinding: bool) -> dict[int, int]:
    topic = unique_name("rewind")
    await ensure_topics(bootstrap, [TopicSpec(topic, 2)])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for partition in (0, 1):
            for i in range(RECORDS):
                await producer.send_and_wait(topic, f"v{i}".encode(), partition=partition)
    finally:
        await producer.stop()

    tps = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=unique_name("g"),
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.commit({tps[1]: OffsetAndMetadata(2, "")})  # partition 1: committed
        assert await _read_all(consumer, tps) == {0: RECORDS, 1: RECORDS}
        if rewinding:
            thread = SimpleNamespace(
                _ensure_consumer=lambda: consumer,
                consumer=SimpleNamespace(_is_changelog_tp=lambda tp: False),
            )
            await RewindingConsumerThread._seek_to_committed_or_beginning(thread)
        else:
            await consumer.seek_to_committed()
        return {tp.partition: await consumer.position(tp) for tp in tps}
    finally:
        await consumer.stop()


def test_aiokafka_leaves_an_uncommitted_partition_at_its_end(kafka_broker: str) -> None:
    """The upstream behaviour the fix exists for (if this changes, the fix may go)."""
    assert asyncio.run(_positions_after_seek(kafka_broker, rewinding=False)) == {
        0: RECORDS, 1: 2}


def test_rewinding_seek_reads_an_uncommitted_partition_again(kafka_broker: str) -> None:
    assert asyncio.run(_positions_after_seek(kafka_broker, rewinding=True)) == {0: 0, 1: 2}
