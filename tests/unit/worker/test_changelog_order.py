"""Two sends of the changelog in flight never queue a partition's rows out of order: the
last row the broker gets for a key is the newest (faust_compat/changelog.BatchedChangelog)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from streamproc.worker import faust_compat


class _Batch:
    def __init__(self) -> None:
        self.rows: list[tuple[bytes, bytes]] = []

    def append(self, key, value, timestamp):  # noqa: ANN001, ANN201 - aiokafka's shape
        self.rows.append((key, value))
        return True

    def close(self) -> None:
        pass


class _Producer:
    """Queues batches in call order; handing partition 2 over waits until ``open`` is set
    the first time (aiokafka may wait for metadata or room in its queue)."""

    def __init__(self) -> None:
        self.queued: list[tuple[int, list]] = []
        self.open = asyncio.Event()
        self.first = True

    def create_batch(self) -> _Batch:
        return _Batch()

    async def send_batch(self, batch: _Batch, topic: str, partition: int):  # noqa: ANN201
        if partition == 2 and self.first:
            self.first = False
            await self.open.wait()
        self.queued.append((partition, batch.rows))
        done = asyncio.get_running_loop().create_future()
        done.set_result(SimpleNamespace(offset=len(self.queued)))
        return done


def _changelog(producer: _Producer) -> faust_compat.BatchedChangelog:
    dbs: dict[int, dict] = {}
    db = lambda p: dbs.setdefault(p, _Db())  # noqa: E731
    table = SimpleNamespace(
        data=SimpleNamespace(_db_for_partition=db, set_persisted_offset=lambda tp, o: None),
        app=SimpleNamespace(producer=SimpleNamespace(_ensure_producer=lambda: producer)),
        changelog_topic=SimpleNamespace(get_topic_name=lambda: "store-state-changelog"))
    return faust_compat.BatchedChangelog(table)


class _Db(dict):
    def put(self, key: bytes, value: bytes) -> None:
        self[key] = value


def test_a_later_send_never_queues_a_partitions_rows_before_an_earlier_one():
    async def run() -> list:
        producer = _Producer()
        log = _changelog(producer)
        log.put(2, "a", b"old-a")
        log.put(3, "s", b"old-s")  # the store's older state
        first = asyncio.ensure_future(log.flush())
        await asyncio.sleep(0)  # the first send waits while handing partition 2 over
        log.put(3, "s", b"new-s")  # the next batch: the store's newer state
        second = asyncio.ensure_future(log.flush())
        await asyncio.sleep(0)
        producer.open.set()
        await asyncio.gather(first, second)
        return [rows for partition, rows in producer.queued if partition == 3]

    assert asyncio.run(run()) == [[(b"s", b"old-s")], [(b"s", b"new-s")]]
