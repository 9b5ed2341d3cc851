"""A rebalance's flow control clears an inbox when it suspends the flow, never when it
resumes it: by then the inbox holds records of the new assignment (soak finding 10)."""

from __future__ import annotations

import faust
from mode.utils.queues import FlowControlEvent

from streamproc.worker.faust_compat import batched_topic
from streamproc.worker.faust_compat.batched_topics import ClearedWhenSuspended
from streamproc.worker.faust_compat.transport import install_transport
from streamproc.worker.inbox import Inbox


def _managed() -> tuple[FlowControlEvent, Inbox, ClearedWhenSuspended]:
    flow, inbox = FlowControlEvent(initially_suspended=False), Inbox()
    guard = ClearedWhenSuspended(inbox, flow)
    flow.manage_queue(guard)
    return flow, inbox, guard


def test_mode_clears_managed_queues_on_resume() -> None:
    """What the guard is for: mode's resume clears what it manages (if an upgrade stops
    doing that, the guard is no longer needed; this test says so)."""
    flow, inbox = FlowControlEvent(initially_suspended=False), Inbox()

    class Plain:
        def clear(self) -> None:
            inbox.clear()

    plain = Plain()
    flow.manage_queue(plain)
    inbox.put("record of the new assignment")
    flow.resume()
    assert len(inbox) == 0


def test_resuming_keeps_what_arrived_after_the_seek() -> None:
    flow, inbox, _guard = _managed()
    flow.suspend()
    flow.resume()  # Faust's first resume (changelog recovery)
    inbox.put("polls[6]@715, fetched after the seek to the committed offset")
    flow.resume()  # Faust's second resume, after the seek
    assert len(inbox) == 1


def test_suspending_for_a_rebalance_clears() -> None:
    flow, inbox, _guard = _managed()
    inbox.put("a record of the old assignment")
    flow.suspend()
    flow.clear()  # what Faust's revocation does
    assert len(inbox) == 0


def test_a_batched_topic_keeps_its_inbox_through_a_resume() -> None:
    """The wiring: ``batched_topic`` hands flow control the guard, not the inbox."""
    app = faust.App("inbox-flow-test", broker="kafka://127.0.0.1:1")
    install_transport(app)

    async def handle(batch):  # never called here
        raise AssertionError

    batched_topic(app, app.topic("polls-flow-test"), handle, 10, gapless=True)
    inbox = app.transport.inboxes["polls-flow-test"]
    inbox.put("a record of the new assignment")
    app.flow_control.resume()
    assert len(inbox) == 1
    app.flow_control.suspend()
    app.flow_control.clear()
    assert len(inbox) == 0
