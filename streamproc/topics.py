"""Topic names and layout, shared by producers, the worker and the tests."""

from __future__ import annotations

from dataclasses import dataclass

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


def all_topics(settings: Settings) -> list[TopicSpec]:
    return input_topics(settings) + [
        TopicSpec(settings.topic_deadletter, 1),
        TopicSpec(settings.topic_outages, 1),
    ]
