"""Faust's Kafka transport with streamproc's consumer and producer."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
from aiokafka.errors import KafkaConnectionError, NodeNotReadyError, RequestTimedOutError
from faust.transport.drivers import aiokafka as faust_kafka

from streamproc.worker.faust_compat.consumer import RewindingConsumer
from streamproc.worker.faust_compat.producer import DrainingProducer
from streamproc.worker.inbox import Inbox

# (object, attribute) pairs this module relies on; see tests/unit/worker/test_faust_compat.py.
PRIVATE_APIS: tuple[tuple[Any, str], ...] = (
    (faust_kafka.Transport, "Consumer"),
    (faust_kafka.Transport, "Producer"),
    (faust_kafka.Transport, "_create_topic"),
)
APP_ATTRIBUTES: tuple[tuple[str, str], ...] = ()  # none set at run time

log = logging.getLogger(__name__)

CREATE_TOPIC_ATTEMPTS = 6  # over ~15 s: a broker node's metadata goes stale in seconds
CREATE_TOPIC_PAUSE_S = 0.5  # doubled after each attempt, at most 4 s
NODE_AWAY = (NodeNotReadyError, KafkaConnectionError, RequestTimedOutError)


class Transport(faust_kafka.Transport):
    Consumer = RewindingConsumer
    Producer = DrainingProducer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inboxes: dict[str, Inbox] = {}  # topic name -> its batched_topic inbox
        self.gapless: set[str] = set()  # topics whose offsets have no gaps (not compacted)
        self.flow_guards: list = []  # batched_topics.ClearedWhenSuspended (flow control: weak)

    async def _create_topic(self, owner: Any, client: Any, topic: str, partitions: int,
                            replication: int, **kwargs: Any) -> None:
        """Faust's topic declaration (every start declares its internal topics, existing or
        not), asked again of another node when the one it asked is away. Faust sends it to the
        node the metadata names as controller; with a broker node down, that may be the dead
        one, and the worker exited at start (found by ``streamproc soak``: a worker started
        while a broker node could not come back)."""
        pause = CREATE_TOPIC_PAUSE_S
        for attempt in range(1, CREATE_TOPIC_ATTEMPTS + 1):
            try:
                return await super()._create_topic(owner, client, topic, partitions,
                                                   replication, **kwargs)
            except NODE_AWAY as exc:
                if attempt == CREATE_TOPIC_ATTEMPTS:
                    raise
                log.warning("declaring topic %s: %r; asking again in %.1f s", topic, exc, pause)
                await client.force_metadata_update()
                await asyncio.sleep(pause)
                pause = min(pause * 2, 4.0)


def install_transport(app: faust.App) -> None:
    """Make ``app`` consume through :class:`RewindingConsumer` (before the worker starts)."""
    app.transport = Transport(app.conf.broker_consumer, app)
