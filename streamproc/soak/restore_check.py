"""The soak's check of what a takeover would restore: the store-state changelog alone (the
last value of each key, as a worker restoring a partition reads it) must hold every poll
of the data set's last eight days, and no other.

Why a check of its own: a changelog row older than the worker's RocksDB goes unseen while
that worker holds the partition, and the final report reads the workers' live state. Only
the next takeover would lose the poll; a report then misses it until a later full save
mends the row (README, soak finding 10). Read here, every such row shows.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from streamproc.core.records import Poll
from streamproc.core.state import HORIZON_US, StoreState
from streamproc.core.state_rows import merge, split_key, state_from_rows
from streamproc.core.timeparse import format_timestamp

ROWS = dict[bytes, bytes]  # key -> last value (tombstoned keys absent)


@dataclass
class RestoreCheck:
    """Polls of the window that the changelog would not restore, or would invent."""

    stores: int = 0  # stores with at least one poll in the window
    missing: int = 0
    extra: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.stores > 0 and self.missing == 0 and self.extra == 0


def changelog_topic(app_id: str) -> str:
    """The store-state table's changelog (Faust names it ``<app id>-<table>-changelog``)."""
    return f"{app_id}-store-state-changelog"


def check_restore(bootstrap: str, topic: str, polls: list[Poll], last_us: int) -> RestoreCheck:
    """Compare the changelog's stores with ``polls`` (the data set) over the last eight days."""
    rows = asyncio.run(latest_rows(bootstrap, topic))
    return compare(restored_polls(rows), polls, last_us - HORIZON_US)


async def latest_rows(bootstrap: str, topic: str) -> ROWS:
    """Every key's last value in ``topic``, read from the start to the end offsets."""
    tps = [TopicPartition(topic, p) for p in await partitions(bootstrap, topic)]
    if not tps:
        raise LookupError(f"no topic {topic} on {bootstrap}")
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                group_id=None)
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        rows: ROWS = {}
        while [tp for tp in tps if await consumer.position(tp) < end[tp]]:
            for records in (await consumer.getmany(timeout_ms=1000)).values():
                for record in records:
                    if record.value is None:
                        rows.pop(record.key, None)
                    else:
                        rows[record.key] = record.value
        return rows
    finally:
        await consumer.stop()


async def partitions(bootstrap: str, topic: str) -> list[int]:
    """The topic's partitions (the consumer's ``partitions_for_topic`` knows only topics it
    fetched metadata for, and ``topics()`` does not count as that)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
        return sorted(p["partition"] for d in described for p in d["partitions"])
    finally:
        await admin.close()


def restored_polls(rows: ROWS) -> dict[str, list[tuple[int, bool]]]:
    """Each store's polls as a restoring worker builds them (rows, or an old blob key)."""
    by_store: dict[str, dict[bytes, bytes]] = defaultdict(dict)
    for key, value in rows.items():
        if key.startswith(b"__faust"):
            continue  # Faust's own bookkeeping, not a store
        store_id, suffix = split_key(key)
        by_store[store_id][suffix] = value
    restored = {}
    for store_id, store_rows in by_store.items():
        blob = store_rows.pop(b"", None)
        polls = state_from_rows(store_id, store_rows).polls()
        if blob:
            polls = merge(polls, StoreState.from_bytes(store_id, blob).polls())
        restored[store_id] = polls
    return restored


def compare(restored: dict[str, list[tuple[int, bool]]], polls: list[Poll],
            since_us: int) -> RestoreCheck:
    """Polls at or after ``since_us``, per store: the data set's against the restored."""
    expected: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    for store_id, ts, active in polls:
        if ts >= since_us:
            expected[store_id].append((ts, active))
    check = RestoreCheck(stores=len(expected))
    for store_id in sorted(set(expected) | set(restored)):
        want = set(merge(expected.get(store_id, ())))
        got = {p for p in restored.get(store_id, ()) if p[0] >= since_us}
        missing, extra = want - got, got - want
        check.missing += len(missing)
        check.extra += len(extra)
        if (missing or extra) and len(check.examples) < 5:
            first = format_timestamp(min(missing)[0]) if missing else "-"
            check.examples.append(f"store {store_id}: {len(missing)} polls missing (first "
                                  f"{first}), {len(extra)} not in the data")
    return check
