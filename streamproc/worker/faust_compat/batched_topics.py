"""Topics whose messages skip Faust's streams: an inbox and one task applying batches."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_kafka

from streamproc.worker.inbox import BatchFn, Inbox, run_batches

# (object, attribute) pairs this module relies on; see tests/unit/worker/test_faust_compat.py.
PRIVATE_APIS: tuple[tuple[Any, str], ...] = (
    (faust_kafka.Consumer, "track_message"),
    (faust_kafka.Consumer, "ack"),
    (faust.App, "flow_control"),
    (faust.App, "consumer_generation_id"),
)
APP_ATTRIBUTES: tuple[tuple[str, str], ...] = ()  # none set at run time


def batched_topic(app: faust.App, topic: faust.TopicT, handle: BatchFn, max_batch: int,
                  limit: int = 8192, gapless: bool = False) -> Callable[[], Awaitable[None]]:
    """Consume ``topic`` (in the app's group, assigned like any agent's topic) into an
    :class:`~streamproc.worker.inbox.Inbox`; the returned task (declare it with
    ``app.task``) hands its messages to ``handle`` in batches (:func:`inbox.run_batches`).
    Each message is tracked like a stream's event and acknowledged to Faust's consumer (so
    its offset may be committed) only once its batch is durable.

    A rebalance clears the inbox (``flow_control``, while the flow is suspended: see
    :class:`ClearedWhenSuspended`) and waits for the batches in flight (tracked messages);
    messages of an older assignment are dropped, as Faust's streams drop them: the consumer
    reads them again from the committed offset.

    ``gapless``: the topic is not compacted and written without transactions, so a record
    is never stepped over (``streamproc/kafka/holes.py``).
    """
    inbox: Inbox = Inbox(limit)
    app.transport.inboxes[topic.get_topic_name()] = inbox
    if gapless:
        app.transport.gapless.add(topic.get_topic_name())
    guard = ClearedWhenSuspended(inbox, app.flow_control)
    app.transport.flow_guards.append(guard)  # flow control keeps only a weak reference
    app.flow_control.manage_queue(guard)
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


class ClearedWhenSuspended:
    """The inbox as Faust's flow control sees it: cleared while the flow is suspended only.

    mode's ``FlowControlEvent`` clears its queues when a rebalance suspends the flow (what we
    want: those messages belong to the old assignment) and *again when it resumes it*. Faust
    resumes the flow twice in a rebalance: for the changelog recovery, and once more after
    seeking the input partitions to their committed offsets. Records fetched between that
    seek and the second resume were in the inbox, of the new assignment, and were dropped
    there: never acknowledged, and not read again, as the fetch position had moved past
    them (found by ``streamproc soak``: events and polls of one second after a rebalance,
    missing until the commit held at them was read again, and once for good)."""

    def __init__(self, inbox: Inbox, flow: Any) -> None:
        self.inbox = inbox
        self.flow = flow

    def clear(self) -> None:
        if not self.flow.is_active():
            self.inbox.clear()
