"""The event-time ``now`` every worker agrees on, read from the watermarks changelog.

Each worker raises the watermark of its own partitions in the ``watermarks`` GlobalTable,
whose changelog topic holds one record per partition (key: the partition number, value: the
largest poll timestamp in microseconds, both ASCII). Faust does not reliably bring other
workers' updates of a GlobalTable into a running worker, so every worker also tails that
topic itself with one small consumer: its :attr:`now` is the maximum over all partitions,
the same on every worker within a fetch (milliseconds), which is what makes the live views
answer alike from any worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

log = logging.getLogger("streamproc.worker.cluster_watermark")

RETRY_S = 2.0


class ClusterWatermark:
    """Tails ``topic`` (every partition, from the beginning) while :meth:`run` runs."""

    def __init__(self, bootstrap: str, topic: str, partitions: int) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.partitions = partitions
        self.by_partition: dict[int, int] = {}

    @property
    def now(self) -> int | None:
        return max(self.by_partition.values(), default=None)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """One changelog record; anything that is not two ASCII integers is skipped."""
        try:
            partition, ts = int(key or b""), int(value or b"")
        except ValueError:
            return
        if ts > self.by_partition.get(partition, 0):
            self.by_partition[partition] = ts

    async def run(self) -> None:
        """Consume until cancelled; reconnect after a failure (the broker may restart)."""
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep the last values, try again
                log.warning("watermark reader: %s; retrying", exc)
                await asyncio.sleep(RETRY_S)

    async def _consume(self) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                    enable_auto_commit=False, fetch_max_wait_ms=50)
        await consumer.start()
        try:
            tps = [TopicPartition(self.topic, p) for p in range(self.partitions)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            while True:
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    for record in records:
                        self.apply(record.key, record.value)
        finally:
            with contextlib.suppress(Exception):
                await consumer.stop()
