"""Topic names and layout, shared by producers, the worker and the tests."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from streamproc.config import Settings


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    compacted: bool = False


def input_topics(settings: Settings) -> list[TopicSpec]:
    """Polls, hours and zones share a partition count so a store lives in one partition."""
    n = settings.partitions
    return [
        TopicSpec(settings.topic_polls, n),
        TopicSpec(settings.topic_hours, n, compacted=True),
        TopicSpec(settings.topic_timezones, n, compacted=True),
    ]


def changelog_topics(tables: Iterable[Any], default_partitions: int) -> list[TopicSpec]:
    """Faust's changelog topics for ``tables`` (app.tables.values()), created up front so no
    worker races to subscribe to a topic that does not exist yet."""
    return [
        TopicSpec(t.changelog_topic.get_topic_name(), t.partitions or default_partitions,
                  compacted=True)
        for t in tables
    ]


def all_topics(settings: Settings) -> list[TopicSpec]:
    return input_topics(settings) + [
        TopicSpec(settings.topic_deadletter, 1),
        TopicSpec(settings.topic_outages, 1),
        TopicSpec(settings.topic_reports, 1),
    ]


async def ensure_topics(
    bootstrap: str, specs: list[TopicSpec], timeout_s: float = 15.0
) -> list[str]:
    """Create the topics that do not exist yet (compaction included); return those created.

    Relying on broker auto-creation would give the hours and zone topics no compaction.
    """
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000)
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(
                        s.name, s.partitions, 1,
                        topic_configs={"cleanup.policy": "compact"} if s.compacted else {},
                    )
                    for s in missing
                ]
            )
        return [s.name for s in missing]
    finally:
        await admin.close()
