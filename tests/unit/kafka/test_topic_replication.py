"""ensure_topics creates topics with the replication factor it is given, and the replay's
topics get ``STREAMPROC_REPLICATION`` (no broker: a fake admin client records the calls)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from producers import kafka_io
from streamproc.config import Settings
from streamproc.kafka import topics
from streamproc.kafka.topics import TopicSpec


class FakeAdmin:
    created: list = []
    existing_copies = 0  # replication factor of topics that already exist (0: none)

    def __init__(self, **kwargs) -> None:
        self.kwargs = kwargs

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    async def create_topics(self, new):
        FakeAdmin.created += new
        return SimpleNamespace(topic_errors=[(t.name, 0, None) for t in new])

    async def describe_topics(self, names):
        copies = {t.name: t.replication_factor for t in FakeAdmin.created}
        return [
            {"topic": n, "error_code": 0, "partitions": [
                {"partition": 0, "leader": 1, "error_code": 0,
                 "replicas": list(range(FakeAdmin.existing_copies or copies[n]))}]}
            for n in names
        ]


@pytest.fixture
def admin(monkeypatch: pytest.MonkeyPatch) -> type[FakeAdmin]:
    FakeAdmin.created = []
    FakeAdmin.existing_copies = 0
    monkeypatch.setattr(topics, "AIOKafkaAdminClient", FakeAdmin)
    return FakeAdmin


def test_default_replication_is_one(admin) -> None:
    assert asyncio.run(topics.ensure_topics("h:1", [TopicSpec("a", 1)])) == []
    assert [t.replication_factor for t in admin.created] == [1]


def test_replication_is_passed_to_every_topic(admin) -> None:
    specs = [TopicSpec("a", 1), TopicSpec("b", 1, compacted=True)]
    asyncio.run(topics.ensure_topics("h:1,h:2,h:3", specs, replication=3))
    assert [(t.name, t.replication_factor) for t in admin.created] == [("a", 3), ("b", 3)]


def test_an_existing_topic_with_fewer_copies_is_a_warning(admin) -> None:
    admin.existing_copies = 1
    [warning] = asyncio.run(topics.ensure_topics("h:1", [TopicSpec("a", 1)], replication=3))
    assert "topic a has replication factor 1, STREAMPROC_REPLICATION is 3" in warning


def test_replay_topics_get_the_configured_replication(
    admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAMPROC_REPLICATION", "3")
    asyncio.run(kafka_io.ensure_topics("h:1", kafka_io.replay_topics(Settings())))
    assert admin.created and {t.replication_factor for t in admin.created} == {3}
    admin.created = []
    asyncio.run(kafka_io.ensure_topics("h:1", [TopicSpec("x", 1)], replication=2))
    assert [t.replication_factor for t in admin.created] == [2]
