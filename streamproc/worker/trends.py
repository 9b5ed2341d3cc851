"""Week-over-week uptime kept per store beyond the polls' horizon (``store-weeks`` table).

The rules are pure (:mod:`streamproc.core.trends`); this keeps their result. A timer looks
at every store of this worker: a week that closed is computed from the live state while its
polls are still kept, and written (20 bytes a week, the newest 8) to the ``store-weeks``
table, partitioned like ``store-state`` so the worker that holds a store holds its weeks.
Writes name their partition (``faust_compat.BatchedChangelog``), as the stream's do.

A replay that moves the watermark by more than a day between two looks loses the weeks
whose polls were evicted in between; live, the watermark moves with the clock.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from streamproc.core import trends
from streamproc.core.state import StoreState
from streamproc.kafka.partitioning import partition_of
from streamproc.worker.processing import Processor

YIELD_EVERY = 200


class Changelog(Protocol):
    def get(self, partition: int, key: str) -> bytes | None: ...

    def put(self, partition: int, key: str, value: bytes) -> None: ...

    async def flush(self) -> None: ...


class Trends:
    """See the module docstring."""

    def __init__(self, processor: Processor, log: Changelog, partitions: int) -> None:
        self.processor = processor
        self.log = log
        self.partitions = partitions

    def kept(self, store_id: str) -> trends.Weeks:
        return trends.decode(self.log.get(partition_of(store_id, self.partitions), store_id))

    def trend(self, store_id: str, state: StoreState | None,
              now_us: int | None) -> list[dict[str, Any]]:
        """The store's last 8 weeks for ``/stores/{id}`` (kept weeks, the rest live)."""
        return trends.trend_json(self.kept(store_id), state, now_us)

    async def tick(self) -> int:
        """Keep the weeks that closed; how many stores changed."""
        now = self.processor.watermarks.now()
        if now is None:
            return 0
        cache, changed = self.processor.cache, 0
        for i, store_id in enumerate(list(cache.store_ids())):
            if i % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)
            kept = self.kept(store_id)
            if not trends.weeks_to_compute(kept, now):
                continue
            new = trends.updated(kept, cache.get(store_id), now)
            if new != kept:
                self.log.put(partition_of(store_id, self.partitions), store_id,
                             trends.encode(new))
                changed += 1
        if changed:
            await self.log.flush()
        return changed
