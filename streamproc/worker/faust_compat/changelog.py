"""A Faust table's writes sent as one produce batch per partition."""

from __future__ import annotations

import asyncio
from typing import Any

import faust
from faust.stores import rocksdb as faust_rocksdb
from faust.transport.drivers import aiokafka as faust_kafka
from faust.types import TP

from streamproc.worker.changelog_sends import ChangelogSends

# (object, attribute) pairs this module relies on; see tests/unit/worker/test_faust_compat.py.
PRIVATE_APIS: tuple[tuple[Any, str], ...] = (
    (faust_kafka.Producer, "_ensure_producer"),
    (faust_rocksdb.Store, "_db_for_partition"),
    (faust_rocksdb.Store, "_dbs_for_actives"),
    (faust_rocksdb.Store, "set_persisted_offset"),
    (faust_rocksdb.Store, "offset_key"),
)
APP_ATTRIBUTES: tuple[tuple[str, str], ...] = ()  # none set at run time


class BatchedChangelog:
    """A Faust table's writes, one produce batch per partition instead of one message each.

    Faust's ``table[key] = value`` costs a message through its producer buffer, a future and
    a callback that rewrites the persisted offset, per write (~100 µs). Here :meth:`put`
    writes the row to its partition's RocksDB at once (Faust does the same) and holds the
    changelog row; :meth:`flush` sends every held row with aiokafka's batch API and returns
    when the broker acknowledged them, then records each partition's persisted offset.

    A batch counts as durable once :meth:`flush` returned, and its input messages are
    acknowledged to Faust's consumer (which may then commit them) only after that
    (:func:`batched_topic`): an offset is never committed before the changelog rows it
    stands for are in Kafka. After a ``kill -9`` the events
    are read again and written again (the state is idempotent), as with Faust's path.
    """

    def __init__(self, table: faust.Table) -> None:
        self.table = table
        self.sends = ChangelogSends(self._send_once, self._read)
        # Sends run concurrently (the next batch is applied while the broker writes the
        # last one), and handing a batch to the producer may wait (metadata, a full
        # queue): without this lock a later send could queue a partition's rows ahead of an
        # earlier send's, and the changelog ended with a store's older state (found by a
        # 30-minute soak: a poll lost after a takeover, two batches 1 ms apart landing in
        # the wrong order).
        self._enqueuing = asyncio.Lock()
        self.batches_sent = 0
        self.rows_sent = 0

    def get(self, partition: int, key: str | bytes) -> bytes | None:
        return self._read(partition, _raw(key))

    def put(self, partition: int, key: str | bytes, value: bytes) -> None:
        raw = _raw(key)
        self.table.data._db_for_partition(partition).put(raw, value)
        self.sends.put(partition, raw, value)

    def delete(self, partition: int, key: str | bytes) -> None:
        """Delete the row from the partition's RocksDB and send its tombstone (Faust's
        changelog recovery deletes the key on a record without a value)."""
        raw = _raw(key)
        self.table.data._db_for_partition(partition).delete(raw)
        self.sends.put(partition, raw, None)

    def scan(self, partition: int | None, prefix: bytes) -> list[tuple[bytes, bytes]]:
        """The rows whose key starts with ``prefix``, in key order (a RocksDB seek: one
        store's rows, ``core/state_rows.py``), from ``partition``'s RocksDB, or with
        ``None`` from the first active partition that has any (a lookup, like Faust's
        ``table.get``, which does not know the partition either)."""
        if partition is not None:
            return _prefixed(self.table.data._db_for_partition(partition), prefix)
        for db in self.table.data._dbs_for_actives():
            found = _prefixed(db, prefix)
            if found:
                return found
        return []

    def store_ids(self) -> list[str]:
        """Every store of the active partitions' RocksDB, one seek per store: a store is a
        few rows (``<id>/p``, ``<id>/t``, a day row per day), and a report's first listing
        read every row of the fleet (~10 a store) through Faust's table iteration."""
        found: list[str] = []
        for db in self.table.data._dbs_for_actives():
            found += _store_ids(db, self.table.data.offset_key)
        return found

    async def flush(self) -> None:
        """Until every row put so far (by any agent) is acknowledged by the broker."""
        await self.sends.flush()

    async def settle(self, timeout: float) -> bool:
        """Until every send in flight landed or failed (see ChangelogSends.settle)."""
        return await self.sends.settle(timeout)

    def forget_partitions(self, keep) -> int:
        """Drop held rows of partitions no longer this worker's (see ChangelogSends)."""
        return self.sends.forget_partitions(keep)

    def _read(self, partition: int, key: bytes) -> bytes | None:
        return self.table.data._db_for_partition(partition).get(key)

    async def _send_once(self, rows: dict[int, dict[bytes, bytes | None]]) -> None:
        producer = self.table.app.producer._ensure_producer()
        topic = self.table.changelog_topic.get_topic_name()
        sent = []

        async def send(batch, partition: int, count: int) -> None:
            batch.close()  # complete: no linger (aiokafka sends a closed batch at once)
            sent.append((partition, count,
                         await producer.send_batch(batch, topic, partition=partition)))

        async with self._enqueuing:  # a later send's rows never overtake this one's
            for partition, items in rows.items():
                batch, count = producer.create_batch(), 0
                for key, value in items.items():
                    if batch.append(key=key, value=value, timestamp=None) is None:
                        await send(batch, partition, count)
                        batch, count = producer.create_batch(), 0
                        batch.append(key=key, value=value, timestamp=None)
                    count += 1
                await send(batch, partition, count)
        for partition, count, future in sent:
            meta = await future
            self.table.data.set_persisted_offset(TP(topic, partition), meta.offset + count - 1)
            self.batches_sent += 1
            self.rows_sent += count


def _raw(key: str | bytes) -> bytes:
    return key if isinstance(key, bytes) else key.encode()


def _prefixed(db: Any, prefix: bytes) -> list[tuple[bytes, bytes]]:
    """Rows of a rocksdict ``Rdict`` (raw mode, as Faust opens it) under ``prefix``."""
    found = []
    it = db.iter()
    it.seek(prefix)
    while it.valid():
        key = it.key()
        if not key.startswith(prefix):
            break
        found.append((key, it.value()))
        it.next()
    return found


def _store_ids(db: Any, offset_key: bytes) -> list[str]:
    """The store ids of one partition's rows: after ``<id>/...``, a seek past every row of
    that store (row suffixes start with ``p``, ``t`` or ``d``, all below ``\\xff``); a key
    without ``/`` is a store in the one-blob format of old, except Faust's own record of the
    changelog offset it restored to (``offset_key``, in the same database)."""
    ids: list[str] = []
    it = db.iter()
    it.seek_to_first()
    while it.valid():
        key = it.key()
        if key == offset_key:
            it.next()
            continue
        store, sep, _ = key.partition(b"/")
        store_id = store.decode(errors="surrogateescape")
        if not ids or ids[-1] != store_id:
            ids.append(store_id)
        if sep:
            it.seek(store + b"/\xff")
        else:
            it.next()
    return ids
