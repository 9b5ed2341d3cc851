"""Faust's Kafka transport, with one fix: records dropped during a rebalance are read again.

While a rebalance recovers the tables, Faust pauses the flow of messages; records the fetcher
returns in that window are thrown away, and Faust seeks every partition back to its committed
offset so they are read again. aiokafka's ``seek_to_committed`` skips a partition that has no
committed offset (or offset 0), so its dropped records were lost until the next restart. That
happened after a takeover: the killed worker had read but not yet committed some hours and
time-zone partitions, and the survivor never applied what arrived there (a report then waited
for offsets that would never be processed). Such partitions are sought to their beginning,
which is where ``consumer_auto_offset_reset="earliest"`` would have started them; the state is
idempotent, so reading a record twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_kafka


def uncommitted(committed: Mapping[Any, int | None], is_changelog) -> list:
    """Partitions ``seek_to_committed`` left where they were (changelogs have their own
    offsets, kept by table recovery, and are not ours to move)."""
    return [tp for tp, offset in committed.items() if not offset and not is_changelog(tp)]


class RewindingConsumerThread(faust_kafka.AIOKafkaConsumerThread):
    async def seek_to_committed(self) -> Mapping[Any, int]:
        return await self.call_thread(self._seek_to_committed_or_beginning)

    async def _seek_to_committed_or_beginning(self) -> Mapping[Any, int]:
        kafka = self._ensure_consumer()
        committed = await kafka.seek_to_committed()
        rewind = uncommitted(committed, self.consumer._is_changelog_tp)
        if rewind:
            await kafka.seek_to_beginning(*rewind)
        return committed


class RewindingConsumer(faust_kafka.Consumer):
    def _new_consumer_thread(self) -> RewindingConsumerThread:
        return RewindingConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_kafka.Transport):
    Consumer = RewindingConsumer


def install(app: faust.App) -> None:
    """Make ``app`` consume through :class:`RewindingConsumer` (before the worker starts)."""
    app.transport = Transport(app.conf.broker_consumer, app)
