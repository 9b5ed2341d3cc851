"""Every use of a Faust or aiokafka API that is private or undocumented, in one package.

One module per concern, each listing the private names it relies on in its own
``PRIVATE_APIS``; ``tests/unit/worker/test_faust_compat.py`` checks every one of them against the
installed versions, so an upgrade that removes one fails loudly there, not in production.

* :mod:`.app_state`: the assignment, table recovery, tasks free of Faust's current event.
* :mod:`.web_server`: Faust's aiohttp server serving plain aiohttp views.
* :mod:`.consumer`: the consumer and its fetch loop (inboxes, seeks, deliveries).
* :mod:`.producer`: a flush that drains the buffer of table writes.
* :mod:`.changelog`: table writes sent as one batch per partition.
* :mod:`.batched_topics`: topics applied in batches from an inbox.
* :mod:`.transport`: the transport that puts the consumer and producer in place.

In more detail:

* :func:`assigned_partitions`, :func:`recovery_completed`: what the assignor gave this worker,
  and whether table recovery finished (attributes of Faust's services, not documented API).
* :func:`web_application`: the aiohttp ``Application`` Faust serves, so that the views of
  ``streamproc.web`` are plain aiohttp handlers.
* :class:`BatchedChangelog`: writes of the ``store-state`` table without Faust's per-message
  path: RocksDB of an explicit partition (``Store._db_for_partition``), the changelog sent
  with aiokafka's batch API (``Producer._ensure_producer``), the persisted offset written
  once per batch (see the class for why this is as safe as Faust's own path).
* :func:`install_transport`: Faust's Kafka transport, with four fixes: a commit waits until
  every buffered table write is sent (:class:`DrainingProducer`), a message is handed to its
  streams without four tasks each (``RewindingConsumer.wait_first``), records dropped
  during a rebalance are read again (below), and records fetched before a seek are not
  handed on after it (:func:`fetched_before_seek`).
* :func:`batched_topic`: a topic whose messages skip Faust's streams: the consumer puts them
  into an :class:`~streamproc.worker.inbox.Inbox` and one task applies them in batches,
  acknowledging each message to Faust's consumer (``track_message``/``ack``) once applied.

The transport fix:

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

from typing import Any

from streamproc.worker.faust_compat import (
    app_state,
    batched_topics,
    changelog,
    consumer,
    producer,
    threads,
    transport,
    web_server,
)
from streamproc.worker.faust_compat.app_state import (
    assigned_partitions,
    fresh_task,
    rebalancing,
    recovery_completed,
)
from streamproc.worker.faust_compat.batched_topics import batched_topic
from streamproc.worker.faust_compat.changelog import BatchedChangelog
from streamproc.worker.faust_compat.consumer import (
    DELIVERED,
    FETCH_MAX_WAIT_MS,
    READ_AGAIN_AFTER_S,
    FlowSuspension,
    RewindingConsumer,
    RewindingConsumerThread,
    faust_tp,
    fetched_before_seek,
    skipped_from,
    uncommitted,
)
from streamproc.worker.faust_compat.producer import DrainingProducer
from streamproc.worker.faust_compat.threads import stack_of
from streamproc.worker.faust_compat.transport import Transport, install_transport
from streamproc.worker.faust_compat.web_server import configure_web_server, web_application

MODULES = (app_state, web_server, consumer, producer, changelog, batched_topics, transport,
           threads)
# Every (object, attribute) pair of every module; see tests/unit/worker/test_faust_compat.py.
PRIVATE_APIS: tuple[tuple[Any, str], ...] = tuple(
    pair for module in MODULES for pair in module.PRIVATE_APIS)
# Every (path from the app, attribute) Faust sets at run time that a module relies on.
APP_ATTRIBUTES: tuple[tuple[str, str], ...] = tuple(
    pair for module in MODULES for pair in module.APP_ATTRIBUTES)

__all__ = [
    "APP_ATTRIBUTES", "DELIVERED", "FETCH_MAX_WAIT_MS", "MODULES", "PRIVATE_APIS",
    "READ_AGAIN_AFTER_S",
    "BatchedChangelog", "DrainingProducer", "FlowSuspension", "RewindingConsumer",
    "RewindingConsumerThread", "Transport", "assigned_partitions", "batched_topic",
    "configure_web_server", "faust_tp", "fetched_before_seek", "fresh_task",
    "install_transport", "rebalancing", "recovery_completed", "skipped_from", "stack_of",
    "uncommitted", "web_application",
]
