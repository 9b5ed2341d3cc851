"""Every use of a Faust or aiokafka API that is private or undocumented, in one place.

``tests/unit/test_faust_compat.py`` checks each name in :data:`PRIVATE_APIS` against the
installed versions, so an upgrade that removes one fails loudly there, not in production.

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

import asyncio
import contextvars
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from typing import Any

import faust
import faust.transport.producer
from aiohttp import web
from faust.stores import rocksdb as faust_rocksdb
from faust.transport.drivers import aiokafka as faust_kafka
from faust.types import TP
from mode.services import WaitResults

from streamproc.worker.inbox import BatchFn, Inbox, run_batches
from streamproc.worker.statestore import WriteBehind

# (object, attribute) pairs this module relies on; see tests/unit/test_faust_compat.py.
PRIVATE_APIS: tuple[tuple[Any, str], ...] = (
    (faust_kafka.AIOKafkaConsumerThread, "seek_to_committed"),
    (faust_kafka.AIOKafkaConsumerThread, "call_thread"),
    (faust_kafka.AIOKafkaConsumerThread, "_ensure_consumer"),
    (faust_kafka.Consumer, "_new_consumer_thread"),
    (faust_kafka.Consumer, "_is_changelog_tp"),
    (faust_kafka.Transport, "Consumer"),
    (faust_kafka.Transport, "Producer"),
    (faust_kafka.Producer, "flush"),
    (faust.transport.producer.ProducerBuffer, "flush"),
    (faust.transport.producer.ProducerBuffer, "size"),
    (faust_kafka.Consumer, "_drain_messages"),  # calls wait_first(callback, suspend_flow.wait())
    (faust_kafka.Consumer, "getmany"),  # the fetch loop's records (filtered)
    (faust_kafka.Consumer, "perform_seek"),  # the seek that ends a rebalance (serialized)
    (faust_kafka.Producer, "_ensure_producer"),
    (faust_rocksdb.Store, "_db_for_partition"),
    (faust_rocksdb.Store, "set_persisted_offset"),
    (faust_kafka.Consumer, "track_message"),
    (faust_kafka.Consumer, "on_buffer_full"),
    (faust_kafka.Consumer, "on_buffer_drop"),
    (faust_kafka.Consumer, "assignment"),
    (faust_kafka.Consumer, "ack"),
    (faust.App, "flow_control"),
    (faust.App, "consumer_generation_id"),
)


def assigned_partitions(app: faust.App) -> set:
    """Active topic-partitions assigned to this worker (input topics and tables alike)."""
    return app.assignor.assigned_actives()


def recovery_completed(app: faust.App) -> bool:
    """Tables restored from their changelogs after the last (re)assignment."""
    return app.tables.recovery.completed.is_set()


def fresh_task(coro: Coroutine[Any, Any, Any]) -> asyncio.Task:
    """A task that does not inherit Faust's "current event" (a context variable).

    Started from an agent, a task would inherit the event being handled (a report message,
    partition 0), and its table reads would look only in that partition: every store of the
    other partitions would read as empty.
    """
    return asyncio.get_running_loop().create_task(coro, context=contextvars.Context())


def configure_web_server(app: faust.App, idle_timeout_s: float) -> None:
    """Faust builds its aiohttp ``AppRunner`` (``Web._runner``) with aiohttp's defaults: a
    connection that sends nothing, or stays idle between requests, is kept 3,630 s, so idle
    clients could hold every file descriptor (shared with RocksDB and Kafka). Replace it,
    before the server starts, with one that closes such connections after ``idle_timeout_s``
    (aiohttp starts that timer on connect too, so it also bounds the wait for the headers)."""
    driver = app.web
    driver._runner = web.AppRunner(driver.web_app, access_log=None,
                                   keepalive_timeout=idle_timeout_s)


def web_application(app: faust.App) -> web.Application:
    """The aiohttp application behind Faust's web server (routes added before it starts)."""
    return app.web.web_app


def uncommitted(committed: Mapping[Any, int | None], is_changelog) -> list:
    """Partitions ``seek_to_committed`` left where they were (changelogs have their own
    offsets, kept by table recovery, and are not ours to move)."""
    return [tp for tp, offset in committed.items() if not offset and not is_changelog(tp)]


FETCH_MAX_WAIT_MS = 50  # an idle worker then sends 20 small fetches a second


class RewindingConsumerThread(faust_kafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        """Faust's consumer with a broker-side fetch wait of :data:`FETCH_MAX_WAIT_MS`.

        aiokafka keeps one fetch in flight per broker, for the partitions that have nothing
        buffered. Faust fixes its wait at 1.5 s: when the partitions in that fetch were idle
        (the polls topic while public events are re-keyed into it), the broker held it up to
        1.5 s while the busy partitions could not be fetched again: the re-keyed polls
        arrived seconds late, and the public-events path ran at 12,000 events/s.
        """
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer

    async def seek_to_committed(self) -> Mapping[Any, int]:
        return await self.call_thread(self._seek_to_committed_or_beginning)

    async def _seek_to_committed_or_beginning(self) -> Mapping[Any, int]:
        kafka = self._ensure_consumer()
        committed = await kafka.seek_to_committed()
        rewind = uncommitted(committed, self.consumer._is_changelog_tp)
        if rewind:
            await kafka.seek_to_beginning(*rewind)
        return committed


def fetched_before_seek(state: Any, offset: int) -> bool:
    """Whether a record at ``offset`` was fetched before a seek moved its partition back to
    (or before) it: aiokafka fetches it again from the new position, so it must not be
    handed on now.

    Faust seeks every partition to its committed offset when a rebalance ends (often twice)
    while its fetch loop may still hold records fetched before that seek. Handed on, such a
    record moves Faust's read offset past the seek position: the records read again below
    it are dropped as already seen, and the offsets in between are recorded as a gap, which
    Faust's commit counts as processed. Polls that no one had applied were committed that
    way after a takeover. aiokafka moves a partition's position past each record it hands
    out, so a record fetched since the last seek is below the position; one at or above it,
    or one whose partition awaits a reset, predates the seek. ``state`` is aiokafka's
    ``TopicPartitionState``, None for a partition no longer assigned (Faust's generation
    check drops those)."""
    if state is None:
        return False
    return not state.has_valid_position or offset >= state.position


def faust_tp(message: Any) -> TP:
    """The message's partition as Faust's own ``TP``.

    ``message.tp`` is the key aiokafka gave the record: aiokafka's ``TopicPartition``, equal
    to a ``TP`` but not one. Faust asserts that its set of active partitions holds only
    ``TP``s on every fetch, so a partition paused and resumed under aiokafka's type killed the
    worker (``AssertionError`` in ``_get_active_partitions``) the first time an inbox drained
    after a burst."""
    return TP(message.topic, message.partition)


DELIVERED = object()  # a message put into its inbox: nothing to wait for
_DELIVERED_RESULT = WaitResults([], [], False)


class RewindingConsumer(faust_kafka.Consumer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inboxes: dict[str, Inbox] = self.transport.inboxes
        self.paused: set = set()  # partitions not fetched while their inbox is full
        self._seeking = asyncio.Lock()  # held by a seek, and while a record is handed on
        self._to_streams = self.callback  # Conductor.on_message: Faust's streams
        self.callback = self._deliver  # the fetch loop reads it once, when it starts

    def _deliver(self, message: Any) -> Any:
        """A batched topic's message into its inbox; any other message to Faust's streams.

        While the flow is suspended (a rebalance) the message is dropped at once: the
        rebalance ends with a seek to the committed offsets, which reads it again. (Holding it
        until the resume, as Faust's conductor does, let Faust's fetch loop record its offset
        as read *after* that seek, and the re-read records below it were dropped.)
        A full inbox stops the fetching of the message's partition until it is down to half
        (what was fetched already is still delivered), as Faust does for a full stream."""
        inbox = self.inboxes.get(message.topic)
        if inbox is None:
            return self._to_streams(message)
        if not self.app.flow_control.is_active():
            return DELIVERED  # dropped: the seek that ends the rebalance reads it again
        self._put(inbox, message)
        return DELIVERED

    def _put(self, inbox: Inbox, message: Any) -> None:
        if inbox.put(message):
            return
        tp = faust_tp(message)
        if tp not in self.paused:
            self.paused.add(tp)
            self.on_buffer_full(tp)
            inbox.when_drained(lambda: self._resume(tp))

    def _resume(self, tp: Any) -> None:
        """Fetch ``tp`` again, if it is still ours (a rebalance clears the inboxes)."""
        self.paused.discard(tp)
        if tp in self.assignment():
            self.on_buffer_drop(tp)

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Any]]:
        """Faust's records, less those a seek made stale (:func:`fetched_before_seek`).

        Each record is handed on under :attr:`_seeking`, held until Faust's fetch loop asks
        for the next one: the loop may pause between receiving a record and recording its
        offset as read, and a seek completed in that pause would be undone by it."""
        state_of, seeking = self._partition_state, self._seeking
        async for tp, message in super().getmany(timeout):
            await seeking.acquire()
            try:
                if not fetched_before_seek(state_of(tp), message.offset):
                    yield tp, message
            finally:
                seeking.release()

    async def perform_seek(self) -> None:
        """Faust's seek to the committed offsets, never while a record is being handed on."""
        async with self._seeking:
            await super().perform_seek()

    def _partition_state(self, tp: TP) -> Any:
        """aiokafka's state of ``tp`` (its fetch position); None when it is not assigned."""
        kafka = self._thread._consumer
        subscription = kafka._subscription.subscription if kafka is not None else None
        assignment = subscription.assignment if subscription is not None else None
        return assignment.state_value(tp) if assignment is not None else None

    def _new_consumer_thread(self) -> RewindingConsumerThread:
        return RewindingConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def wait_first(self, *coros: Any, timeout: Any = None) -> WaitResults:
        """Hand a message to its streams without four tasks per message.

        Faust's fetch loop (``Consumer._drain_messages``) delivers every message as
        ``wait_first(callback(message), suspend_flow.wait())``: the delivery races a flow
        suspension (a rebalance). ``Service.wait_first`` makes four tasks of it, waits for the
        first and cancels the rest: about 100 µs a message, which capped one-message events
        (hours, time zones, public events) at a few thousand per second. The delivery almost
        always finishes in its first step (the streams' buffers have room): run it as one task,
        let it take that step, and only when it did not finish race it as Faust does.
        """
        if coros and coros[0] is DELIVERED:
            for coro in coros[1:]:
                coro.close()  # the suspension wait, never started
            return _DELIVERED_RESULT
        if not _is_delivery(coros, timeout, self.suspend_flow):
            return await super().wait_first(*coros, timeout=timeout)
        delivery = asyncio.ensure_future(coros[0])
        await asyncio.sleep(0)  # the delivery's first step runs before this returns
        if not delivery.done():
            return await super().wait_first(delivery, coros[1])
        coros[1].close()  # the suspension wait, never started
        return WaitResults([delivery], [delivery.result()], False)


def _is_delivery(coros: tuple, timeout: Any, suspend_flow: asyncio.Event) -> bool:
    """``(callback(message), suspend_flow.wait())``, as the fetch loop calls ``wait_first``."""
    if len(coros) != 2 or timeout is not None or not asyncio.iscoroutine(coros[1]):
        return False
    frame = coros[1].cr_frame
    return (asyncio.iscoroutine(coros[0]) and frame is not None
            and frame.f_locals.get("self") is suspend_flow)


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
        self.held = WriteBehind()
        self._sending: set[asyncio.Future] = set()
        self.batches_sent = 0
        self.rows_sent = 0

    def get(self, partition: int, key: str) -> bytes | None:
        return self.table.data._db_for_partition(partition).get(key.encode())

    def put(self, partition: int, key: str, value: bytes) -> None:
        raw = key.encode()
        self.table.data._db_for_partition(partition).put(raw, value)
        self.held.add(partition, raw, value)

    async def flush(self) -> None:
        """Until every row put so far (by any agent) is acknowledged by the broker."""
        if len(self.held):
            task = asyncio.ensure_future(self._send(self.held.take()))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        if self._sending:
            await asyncio.gather(*list(self._sending))

    async def _send(self, rows: dict[int, dict[bytes, bytes]]) -> None:
        """Send ``rows``; if the broker does not take them all, hold them again (unless a
        newer value of the key is held already), so that the next flush sends them: a batch
        applied again writes nothing new, and its rows would otherwise never reach the
        changelog (a worker taking over would restore the store without them)."""
        try:
            await self._send_once(rows)
        except BaseException:
            self.held.restore(rows)
            raise

    async def _send_once(self, rows: dict[int, dict[bytes, bytes]]) -> None:
        producer = self.table.app.producer._ensure_producer()
        topic = self.table.changelog_topic.get_topic_name()
        sent = []

        async def send(batch, partition: int, count: int) -> None:
            batch.close()  # complete: no linger (aiokafka sends a closed batch at once)
            sent.append((partition, count,
                         await producer.send_batch(batch, topic, partition=partition)))

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


class Transport(faust_kafka.Transport):
    Consumer = RewindingConsumer
    Producer = DrainingProducer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inboxes: dict[str, Inbox] = {}  # topic name -> its batched_topic inbox


def batched_topic(app: faust.App, topic: faust.TopicT, handle: BatchFn, max_batch: int,
                  limit: int = 8192) -> Callable[[], Awaitable[None]]:
    """Consume ``topic`` (in the app's group, assigned like any agent's topic) into an
    :class:`~streamproc.worker.inbox.Inbox`; the returned task (declare it with
    ``app.task``) hands its messages to ``handle`` in batches (:func:`inbox.run_batches`).
    Each message is tracked like a stream's event and acknowledged to Faust's consumer (so
    its offset may be committed) only once its batch is durable.

    A rebalance clears the inbox (``flow_control``) and waits for the batches in flight
    (tracked messages); messages of an older assignment are dropped, as Faust's streams
    drop them: the consumer reads them again from the committed offset.
    """
    inbox: Inbox = Inbox(limit)
    app.transport.inboxes[topic.get_topic_name()] = inbox
    app.flow_control.manage_queue(inbox)
    app.topics.add(topic)

    def current(messages: list[Any]) -> list[Any]:
        if not app.flow_control.is_active():
            return []
        generation, track = app.consumer_generation_id, app.consumer.track_message
        fresh = [m for m in messages if m.generation_id == generation]
        for message in fresh:
            if not message.tracked:
                message.tracked = True
                track(message)
        return fresh

    def done(messages: list[Any]) -> None:
        ack = app.consumer.ack
        for message in messages:
            ack(message)

    async def apply_batches() -> None:
        await run_batches(inbox, handle, max_batch, current, done)

    return apply_batches


def install_transport(app: faust.App) -> None:
    """Make ``app`` consume through :class:`RewindingConsumer` (before the worker starts)."""
    app.transport = Transport(app.conf.broker_consumer, app)
