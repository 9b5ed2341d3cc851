"""Faust's Kafka transport with streamproc's consumer and producer."""

from __future__ import annotations

from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_kafka

from streamproc.worker.faust_compat.consumer import RewindingConsumer
from streamproc.worker.faust_compat.producer import DrainingProducer
from streamproc.worker.inbox import Inbox

# (object, attribute) pairs this module relies on; see tests/unit/worker/test_faust_compat.py.
PRIVATE_APIS: tuple[tuple[Any, str], ...] = (
    (faust_kafka.Transport, "Consumer"),
    (faust_kafka.Transport, "Producer"),
)
APP_ATTRIBUTES: tuple[tuple[str, str], ...] = ()  # none set at run time


class Transport(faust_kafka.Transport):
    Consumer = RewindingConsumer
    Producer = DrainingProducer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inboxes: dict[str, Inbox] = {}  # topic name -> its batched_topic inbox
        self.gapless: set[str] = set()  # topics whose offsets have no gaps (not compacted)
        self.flow_guards: list = []  # batched_topics.ClearedWhenSuspended (flow control: weak)


def install_transport(app: faust.App) -> None:
    """Make ``app`` consume through :class:`RewindingConsumer` (before the worker starts)."""
    app.transport = Transport(app.conf.broker_consumer, app)
