"""A real Faust worker against the real broker: it starts, declares its topics, answers."""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient


async def _topics(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


def test_worker_starts_declares_topics_and_answers_health(worker, kafka_broker):
    health = worker.get_json("/health")
    assert health["status"] == "ok"
    assert health["recovering"] is False
    assert health["assigned_partitions"] >= 24  # 3 input topics x 8 partitions
    topics = asyncio.run(_topics(kafka_broker))
    env = worker.env
    app_id = env["STREAMPROC_APP_ID"]
    for name in (env["STREAMPROC_TOPIC_POLLS"], env["STREAMPROC_TOPIC_HOURS"],
                 env["STREAMPROC_TOPIC_TIMEZONES"], env["STREAMPROC_TOPIC_EVENTS"],
                 f"{app_id}-store-state-changelog"):
        assert name in topics, f"{name} missing from {sorted(topics)[:20]}"


def test_empty_snapshot_has_only_the_header(worker):
    csv_text = worker.snapshot_csv()
    assert csv_text.splitlines() == [
        "store_id,uptime_last_hour,uptime_last_day,uptime_last_week,"
        "downtime_last_hour,downtime_last_day,downtime_last_week"
    ]
