"""Faust's producer, whose flush really drains the buffer of table writes."""

from __future__ import annotations

from typing import Any

import faust.transport.producer
from faust.transport.drivers import aiokafka as faust_kafka

# (object, attribute) pairs this module relies on; see tests/unit/worker/test_faust_compat.py.
PRIVATE_APIS: tuple[tuple[Any, str], ...] = (
    (faust_kafka.Producer, "flush"),
    (faust.transport.producer.ProducerBuffer, "flush"),
    (faust.transport.producer.ProducerBuffer, "size"),
)
APP_ATTRIBUTES: tuple[tuple[str, str], ...] = ()  # none set at run time


class DrainingProducer(faust_kafka.Producer):
    """Faust's producer, whose ``flush`` really drains the buffer of table writes.

    Faust commits input offsets after ``producer.flush()``, but the buffer's ``flush`` gives up
    as soon as no message went out for 0.1 s (easily, under load: "producer buffer full"). The
    offsets of events whose changelog writes were still buffered got committed; a ``kill -9``
    then lost those writes for good (the worker that took over, or the same one restarted,
    recovered the table without them and resumed after the events): a report request known
    to nobody, a store's time zone gone. Here the commit waits until the buffer is empty.
    """

    async def flush(self) -> None:
        while self.buffer.size:
            await self.buffer.flush()
        await super().flush()
