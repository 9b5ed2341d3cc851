"""Topic names and layout, and the one way to create topics; shared by producers, the worker
and the tests. Relying on broker auto-creation would give the hours and zone topics no
compaction, so every writer creates what it needs first with :func:`ensure_topics`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from streamproc.config import Settings

CONNECT_TIMEOUT = 10.0  # seconds to reach the broker before giving up


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    compacted: bool = False


def input_topics(settings: Settings) -> list[TopicSpec]:
    """Polls, hours, zones and special hours share a partition count so a store lives in
    one partition."""
    n = settings.partitions
    return [
        TopicSpec(settings.topic_polls, n),
        TopicSpec(settings.topic_hours, n, compacted=True),
        TopicSpec(settings.topic_timezones, n, compacted=True),
        TopicSpec(settings.topic_special_hours, n, compacted=True),
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
        TopicSpec(settings.topic_events, settings.partitions),  # public, re-keyed by store
        TopicSpec(settings.topic_deadletter, 1),
        TopicSpec(settings.topic_outages, 1),
        TopicSpec(settings.topic_reports, 1),
    ]


class BrokerUnavailable(RuntimeError):
    """The broker cannot be reached (or refused a request) within the time limit."""


def failure_reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


async def ensure_topics(
    bootstrap: str,
    specs: Iterable[TopicSpec],
    timeout: float = CONNECT_TIMEOUT,
    replication: int = 1,
) -> list[str]:
    """Create the missing topics with ``replication`` copies of each partition (callers pass
    ``Settings.replication``); returns warnings (e.g. an existing topic's partition count or
    replication factor differs from the layout). Raises BrokerUnavailable when the broker
    cannot be reached or refuses (e.g. fewer brokers than ``replication``)."""
    specs = list(specs)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30_000)
    await connect(admin.start, admin.close, bootstrap, timeout)
    warnings: list[str] = []
    try:
        new = [
            NewTopic(
                name=s.name,
                num_partitions=s.partitions,
                replication_factor=replication,
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
        found, copies = await _wait_for_leaders(admin, [s.name for s in specs], timeout)
        for s in specs:
            if s.name in found and found[s.name] != s.partitions:
                warnings.append(
                    f"topic {s.name} has {found[s.name]} partitions, the layout wants "
                    f"{s.partitions} (stores may not be co-partitioned)"
                )
            if copies.get(s.name, replication) < replication:
                warnings.append(
                    f"topic {s.name} has replication factor {copies[s.name]}, "
                    f"STREAMPROC_REPLICATION is {replication} (Kafka does not change it "
                    "for an existing topic)"
                )
    except (TimeoutError, KafkaError, OSError) as exc:
        raise BrokerUnavailable(f"Kafka at {bootstrap} failed: {failure_reason(exc)}") from None
    finally:
        await close_quietly(admin.close())
    return warnings


async def _wait_for_leaders(
    admin: AIOKafkaAdminClient, names: list[str], timeout: float
) -> tuple[dict[str, int], dict[str, int]]:
    """Wait until every partition of the topics has a leader (a new topic takes a moment;
    producing before that only earns retries). Returns the partition count and the smallest
    replication factor per topic."""
    deadline = time.monotonic() + timeout
    while True:
        described = await asyncio.wait_for(admin.describe_topics(names), 30)
        found = {t["topic"]: len(t["partitions"]) for t in described if not t["error_code"]}
        copies = {
            t["topic"]: min((len(p["replicas"]) for p in t["partitions"]), default=0)
            for t in described if not t["error_code"]
        }
        ready = len(found) == len(set(names)) and all(
            p["leader"] >= 0 and not p["error_code"] for t in described for p in t["partitions"]
        )
        if ready or time.monotonic() >= deadline:
            return found, copies
        await asyncio.sleep(0.1)


async def connect(start: Callable[[], Awaitable[Any]], close: Callable[[], Awaitable[Any]],
                  bootstrap: str, timeout: float) -> None:
    """Start an aiokafka client within ``timeout``; else close it, raise BrokerUnavailable."""
    try:
        await asyncio.wait_for(start(), timeout)
    except (TimeoutError, KafkaError, OSError) as exc:
        await close_quietly(close())
        reason = failure_reason(exc)
        raise BrokerUnavailable(f"cannot reach Kafka at {bootstrap} ({reason})") from None


async def close_quietly(aw: Any) -> None:
    with contextlib.suppress(Exception):  # closing after a failure: the first error matters
        await aw
