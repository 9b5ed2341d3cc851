"""Kafka topics read and written directly (aiokafka), beside the producers and the worker."""

from __future__ import annotations

import asyncio
import json

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from streamproc.sandbox import bootstrap_of


async def _partitions(bootstrap: str, topic: str) -> list[int]:
    """The topic's partitions (waiting up to 5 s for it to exist). The admin client's
    description: ``consumer.topics()`` fetches metadata without updating what
    ``consumer.partitions_for_topic`` reads, so that stays None for a topic never subscribed."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for _ in range(50):
            described = await admin.describe_topics([topic])
            parts = [p["partition"] for t in described if not t["error_code"]
                     for p in t["partitions"]]
            if parts:
                return sorted(parts)
            await asyncio.sleep(0.1)
        return []
    finally:
        await admin.close()


async def _drain(bootstrap: str, topic: str, idle_s: float, timeout: float) -> list:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                fetch_max_bytes=64 * 1024 * 1024,
                                max_partition_fetch_bytes=16 * 1024 * 1024)
    await consumer.start()
    out: list = []
    try:
        tps = [TopicPartition(topic, p) for p in await _partitions(bootstrap, topic)]
        if not tps:
            return out
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        quiet_since = loop.time()
        while loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for msgs in batch.values():
                out += msgs
            if batch:
                quiet_since = loop.time()
            done = all([await consumer.position(tp) >= ends[tp] for tp in tps])
            if done and loop.time() - quiet_since >= idle_s:
                break
    finally:
        await consumer.stop()
    return out


def read_topic(env_or_bootstrap: dict[str, str] | str, topic: str, idle_s: float = 1.0,
               timeout: float = 60.0) -> list:
    """Every record of ``topic`` (all partitions) from the beginning."""
    boot = env_or_bootstrap if isinstance(env_or_bootstrap, str) else bootstrap_of(
        env_or_bootstrap)
    return asyncio.run(_drain(boot, topic, idle_s, timeout))


def dead_letters(env: dict[str, str], **kw) -> list[dict]:
    return [json.loads(m.value) for m in read_topic(env, env["STREAMPROC_TOPIC_DEADLETTER"], **kw)]


async def _send_raw(bootstrap: str, messages: list[tuple[str, bytes | None, bytes | None]]):
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0,
                                max_request_size=2 * 1024 * 1024)
    await producer.start()
    try:
        out = []
        for topic, key, value in messages:
            try:
                meta = await (await producer.send(topic, key=key, value=value))
            except KafkaError as exc:  # refused by the broker itself
                out.append(exc)
            else:
                out.append((meta.topic, meta.partition, meta.offset))
        return out
    finally:
        await producer.stop()


def send_raw(env: dict[str, str], messages: list[tuple[str, bytes | None, bytes | None]]
             ) -> list[tuple[str, int, int] | KafkaError]:
    """Write ``(topic, key, value)`` straight to Kafka, bypassing the producers; return
    where each landed ``(topic, partition, offset)``, or the broker's error."""
    return asyncio.run(_send_raw(bootstrap_of(env), messages))
