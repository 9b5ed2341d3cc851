"""Faust's Kafka consumer with four fixes (see the package's docstring for the rebalance one).

* A message of a batched topic goes into its inbox; a full inbox pauses its partition
  (Faust's ``on_buffer_full``) until half drained, under Faust's own partition type.
* A message is handed to its streams without four tasks each (:meth:`RewindingConsumer.
  wait_first`).
* Partitions without a committed offset are sought to their beginning after a rebalance
  (:class:`RewindingConsumerThread`).
* Records fetched before a seek are not handed on after it (:func:`fetched_before_seek`).
* Records fetched but not handed on (their partition paused meanwhile) are fetched again
  (:func:`skipped_from`), and aiokafka is asked for a fixed set of partitions.
* On topics whose offsets have no gaps (polls, public events), a record is never stepped
  over: one beyond the next expected offset makes the consumer read again from there, and no
  commit passes a record never acknowledged (``streamproc/kafka/holes.py``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

from faust.transport.drivers import aiokafka as faust_kafka
from faust.types import TP
from mode.services import WaitResults

from streamproc import metrics
from streamproc.kafka.holes import Expected, Verdict, commit_would_skip
from streamproc.worker.inbox import Inbox

log = logging.getLogger(__name__)

# (object, attribute) pairs this module relies on; see tests/unit/worker/test_faust_compat.py.
PRIVATE_APIS: tuple[tuple[Any, str], ...] = (
    (faust_kafka.AIOKafkaConsumerThread, "seek_to_committed"),
    (faust_kafka.AIOKafkaConsumerThread, "call_thread"),
    (faust_kafka.AIOKafkaConsumerThread, "_ensure_consumer"),
    (faust_kafka.AIOKafkaConsumerThread, "_create_worker_consumer"),  # the fetch wait
    (faust_kafka.Consumer, "_new_consumer_thread"),
    (faust_kafka.Consumer, "_is_changelog_tp"),
    (faust_kafka.Consumer, "_drain_messages"),  # calls wait_first(callback, suspend_flow.wait())
    (faust_kafka.Consumer, "getmany"),  # the fetch loop's records (filtered)
    (faust_kafka.Consumer, "_getmany"),  # asks the consumer thread for records
    (faust_kafka.Consumer, "_wait_next_records"),  # the fetched batch getmany hands on
    (faust_kafka.AIOKafkaConsumerThread, "seek"),
    (faust_kafka.Consumer, "perform_seek"),  # the seek that ends a rebalance (serialized)
    (faust_kafka.Consumer, "on_buffer_full"),
    (faust_kafka.Consumer, "on_buffer_drop"),
    (faust_kafka.Consumer, "assignment"),
    (faust_kafka.Consumer, "seek_to_committed"),  # where every partition reads next
    (faust_kafka.Consumer, "_new_offset"),  # the offset a commit may move to
    (faust_kafka.Consumer, "_add_gap"),  # offsets the fetch loop did not see, as processed
)
APP_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("consumer", "suspend_flow"),
    ("consumer", "_committed_offset"),  # per partition, the offset last committed
    ("consumer", "_acked"),  # per partition, the offsets acknowledged since
)


def uncommitted(committed: Mapping[Any, int | None], is_changelog) -> list:
    """Partitions ``seek_to_committed`` left where they were (changelogs have their own
    offsets, kept by table recovery, and are not ours to move)."""
    return [tp for tp, offset in committed.items() if not offset and not is_changelog(tp)]


READ_AGAIN_AFTER_S = 20.0  # a commit held this long reads the partition again from it
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


def skipped_from(fetched: Mapping[Any, tuple[int, int]], handed: Mapping[Any, int],
                 position_of: Any) -> dict[Any, int]:
    """Where to fetch again the partitions whose fetched records were not all handed on.

    ``fetched`` is, per partition, the first offset fetched and aiokafka's position right
    after the fetch; ``handed`` the last offset handed on. Faust's fetch loop skips, without
    a word, the records of a partition that is no longer active when their turn comes: one
    whose inbox filled up in the same batch (a burst), or one paused by a rebalance. aiokafka
    has already moved past them, so they were lost: polls until the next rebalance read them
    again (their offsets were never acknowledged, the commit stalled), and a changelog's
    first records for good (a standby started at offset 0 received records from ~800 on,
    so a store written once, such as one with hours and no polls, was missing after a
    takeover). Found by ``streamproc soak``. A partition whose position moved since the
    fetch (a seek) is left alone: the seek decided where it reads next."""
    again = {}
    for tp, (first, end) in fetched.items():
        resume = handed.get(tp, first - 1) + 1
        if resume < end and position_of(tp) == end:
            again[tp] = resume
    return again


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
        self.suspend_flow = FlowSuspension()  # Faust's own, recognisable in wait_first
        self.callback = self._deliver  # the fetch loop reads it once, when it starts
        self._fetched: dict = {}  # the last batch: partition -> (first offset, position after)
        self._fetched_in = None  # the consumer generation that fetched it
        self.gapless: set[str] = self.transport.gapless  # topics whose offsets have no gaps
        self.expected = Expected()  # their next offset, per partition
        self._stalled: dict = {}  # partition -> (offset a commit is held at, since when)
        self._clock = time.monotonic

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
            # dropped: the seek that ends the rebalance reads it again; until then, nothing
            # after it may be handed on
            self._expect(faust_tp(message), message.offset)
            return DELIVERED
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

    async def _getmany(self, active_partitions: Any, timeout: float) -> Any:
        """Faust's fetch, asking aiokafka for a copy of the active partitions: handed Faust's
        live set, the consumer's thread read it after waiting for data, when a rebalance
        or a full inbox had changed it (an empty set means "every partition" to aiokafka)."""
        asked = None if active_partitions is None else set(active_partitions)
        return await super()._getmany(asked, timeout)

    async def _wait_next_records(self, timeout: float) -> Any:
        """Faust's next batch; remembers what was fetched (see :func:`skipped_from`)."""
        records, active = await super()._wait_next_records(timeout)
        self._fetched = {tp: (batch[0].offset, self._position(tp))
                         for tp, batch in (records or {}).items() if batch}
        self._fetched_in = self.app.consumer_generation_id
        return records, active

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Any]]:
        """Faust's records, less those a seek made stale (:func:`fetched_before_seek`);
        those Faust skips are fetched again (:func:`skipped_from`).

        Each record is handed on under :attr:`_seeking`, held until Faust's fetch loop asks
        for the next one: the loop may pause between receiving a record and recording its
        offset as read, and a seek completed in that pause would be undone by it."""
        state_of, seeking = self._partition_state, self._seeking
        handed: dict = {}
        try:
            async for tp, message in super().getmany(timeout):
                await seeking.acquire()
                try:
                    if (not fetched_before_seek(state_of(tp), message.offset)
                            and self._in_order(tp, message.offset)):
                        handed[tp] = message.offset
                        yield tp, message
                finally:
                    seeking.release()
        finally:
            await self._fetch_skipped_again(handed)

    async def _fetch_skipped_again(self, handed: Mapping[Any, int]) -> None:
        """Seek back what Faust skipped, within the generation that fetched it: once a
        rebalance began, its own seeks (to the committed offsets; the tables' recovery for
        changelogs) decide where every partition reads next."""
        fetched, self._fetched = self._fetched, {}
        if (not fetched or not self.flow_active
                or self.app.consumer_generation_id != self._fetched_in):
            return
        async with self._seeking:
            for tp, offset in skipped_from(fetched, handed, self._position).items():
                self._thread.seek(tp, offset)
                self._expect(tp, offset)
            for tp in fetched:
                position = self._position(tp)
                if tp.topic in self.gapless and position is not None:
                    verdict, first = self.expected.behind(tp, self._fetched_in, position)
                    self._act(tp, verdict, first, position)

    def _in_order(self, tp: TP, offset: int) -> bool:
        """Whether the record at ``offset`` may be handed on; when records before it were
        skipped (on a topic without gaps), seek back to the first of them instead."""
        if tp.topic not in self.gapless:
            return True
        verdict, first = self.expected.check(tp, self.app.consumer_generation_id, offset)
        return self._act(tp, verdict, first, offset)

    def _act(self, tp: TP, verdict: Verdict, first: int, reached: int) -> bool:
        """Log and count skipped records (``first`` up to ``reached``, the offset reached
        past them), and seek back to read them again; whether ``reached`` may be handed on."""
        if verdict is Verdict.HAND_ON:
            return True
        metrics.count_skipped_records(tp.topic, verdict.value)
        if verdict is Verdict.GONE:
            log.error("records %d..%d of %s[%d] are not on the broker any more (retention?); "
                      "going on from %d", first, reached - 1, tp.topic, tp.partition, reached)
            return True
        log.warning("records %d..%d of %s[%d] were skipped on the way from the broker; "
                    "reading them again", first, reached - 1, tp.topic, tp.partition)
        self._thread.seek(tp, first)
        return False

    def _expect(self, tp: TP, offset: int) -> None:
        """The next record of ``tp`` to hand on is the one at ``offset`` (a seek)."""
        if tp.topic in self.gapless:
            self.expected.moved(tp, self.app.consumer_generation_id, offset)

    async def seek_to_committed(self) -> Mapping[TP, int]:
        """Faust's seek to the committed offsets (beginning, where none), remembered."""
        committed = await super().seek_to_committed()
        for tp, offset in committed.items():
            if offset:
                self._expect(tp, offset)
            else:
                self.expected.forget(tp)
        return committed

    async def seek(self, partition: TP, offset: int) -> None:
        await super().seek(partition, offset)
        self._expect(partition, offset)

    def _new_offset(self, tp: TP) -> int | None:
        """Faust's next commit offset, except past a record at the committed offset that was
        never acknowledged (Faust allows that one: :func:`commit_would_skip`)."""
        committed = self._committed_offset[tp]
        if tp.topic in self.gapless and commit_would_skip(committed, self._acked[tp]):
            self._held_at(tp, committed)
            return None
        return super()._new_offset(tp)

    def _held_at(self, tp: TP, committed: int) -> None:
        """A commit held at ``committed``: logged once; held :data:`READ_AGAIN_AFTER_S`, the
        partition is read again from there (the record may have been applied and its
        acknowledgement lost in a rebalance: reading it again is harmless, and without it
        the commit would wait for the next rebalance)."""
        now = self._clock()
        since = self._stalled.get(tp)
        if since is None or since[0] != committed:
            self._stalled[tp] = (committed, now)
            log.warning("%s[%d]: the record at %d is not acknowledged, %d later ones are; "
                        "no commit past it", tp.topic, tp.partition, committed,
                        len(self._acked[tp]))
        elif now - since[1] >= READ_AGAIN_AFTER_S and self.flow_active:
            self._stalled[tp] = (committed, now)
            log.warning("%s[%d]: the commit is still held at %d; reading again from there",
                        tp.topic, tp.partition, committed)
            asyncio.ensure_future(self._read_again_from(tp, committed))

    async def _read_again_from(self, tp: TP, offset: int) -> None:
        async with self._seeking:
            if tp in self.assignment():
                await self.seek(tp, offset)  # Faust's: its read offset too

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        """Faust counts offsets its fetch loop did not see as processed (right for compacted
        topics); on a topic without gaps they are records not processed: never."""
        if tp.topic not in self.gapless:
            await super()._add_gap(tp, offset_from, offset_to)

    def _position(self, tp: TP) -> int | None:
        """aiokafka's fetch position of ``tp``; None when unknown or not assigned."""
        state = self._partition_state(tp)
        return state.position if state is not None and state.has_valid_position else None

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
        if not _is_delivery(coros, timeout):
            return await super().wait_first(*coros, timeout=timeout)
        delivery = asyncio.ensure_future(coros[0])
        await asyncio.sleep(0)  # the delivery's first step runs before this returns
        if not delivery.done():
            return await super().wait_first(delivery, coros[1])
        coros[1].close()  # the suspension wait, never started
        return WaitResults([delivery], [delivery.result()], False)


class FlowSuspension(asyncio.Event):
    """Faust's ``suspend_flow`` event, of a type of its own so that :func:`_is_delivery` can
    tell the fetch loop's ``suspend_flow.wait()`` from any other awaitable by the code of
    the coroutine alone (without looking into its frame)."""

    async def wait(self) -> bool:  # noqa: D102 - asyncio.Event.wait
        return await super().wait()


def _is_delivery(coros: tuple, timeout: Any) -> bool:
    """``(callback(message), suspend_flow.wait())``, as the fetch loop calls ``wait_first``."""
    return (len(coros) == 2 and timeout is None and asyncio.iscoroutine(coros[0])
            and asyncio.iscoroutine(coros[1])
            and coros[1].cr_code is FlowSuspension.wait.__code__)
