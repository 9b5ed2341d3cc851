"""The inbox of a batched topic and the loop that hands its messages over in batches."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from streamproc.worker import inbox as inbox_module
from streamproc.worker.inbox import MAX_IN_FLIGHT, Inbox, run_batches
from streamproc.worker.processing import Incoming


@dataclass(frozen=True)
class Msg:
    """What the loop reads from a consumer's message."""

    offset: int
    topic: str = "t"
    partition: int = 0
    key: bytes | None = None
    value: bytes | None = b"v"


def test_take_hands_out_the_oldest_messages_at_most_max() -> None:
    async def run() -> list[list[int]]:
        box: Inbox[int] = Inbox(limit=100)
        for i in range(7):
            box.put(i)
        return [await box.take(3), await box.take(3), await box.take(3)]

    assert asyncio.run(run()) == [[0, 1, 2], [3, 4, 5], [6]]


def test_take_waits_for_a_message() -> None:
    async def run() -> list[str]:
        box: Inbox[str] = Inbox()
        asyncio.get_running_loop().call_later(0.02, box.put, "late")
        return await asyncio.wait_for(box.take(10), 5)

    assert asyncio.run(run()) == ["late"]


def test_a_full_inbox_says_so_and_calls_back_once_down_to_half() -> None:
    async def run() -> tuple[list[bool], list[int]]:
        box: Inbox[int] = Inbox(limit=4)
        said = [box.put(i) for i in range(5)]  # never refuses: the consumer pauses instead
        drained: list[int] = []
        box.when_drained(lambda: drained.append(len(box)))
        await box.take(2)  # 3 wait: more than half
        seen_early = list(drained)
        await box.take(1)  # 2 wait: half
        await box.take(1)
        return said, seen_early + drained

    said, drained = asyncio.run(run())
    assert said == [True, True, True, False, False]
    assert drained == [2], "called once, when at most half the limit waits"


def test_clear_drops_what_waits_and_calls_back() -> None:
    async def run() -> tuple[int, list[int], list[int]]:
        box: Inbox[int] = Inbox(limit=2)
        box.put(1)
        box.put(2)
        drained: list[int] = []
        box.when_drained(lambda: drained.append(1))
        box.clear()
        left = len(box)
        box.put(3)
        return left, await box.take(10), drained

    assert asyncio.run(run()) == (0, [3], [1])


class Broker:
    """A handler whose batches become durable when the test says so (or fail)."""

    def __init__(self) -> None:
        self.handed: list[list[int]] = []
        self.acks: list[asyncio.Future] = []
        self.fail_next_ack = False

    async def handle(self, batch: list[Incoming]) -> asyncio.Future:
        self.handed.append([m.offset for m in batch])
        ack = asyncio.get_running_loop().create_future()
        if self.fail_next_ack:
            self.fail_next_ack = False
            ack.set_exception(ConnectionError("broker gone"))
        self.acks.append(ack)
        return ack

    def ack_all(self) -> None:
        for ack in self.acks:
            if not ack.done():
                ack.set_result(None)


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def _loop(box: Inbox, broker: Broker, done: list[int], keep=lambda ms: ms) -> asyncio.Task:
    return asyncio.ensure_future(run_batches(
        box, broker.handle, 2, keep, lambda ms: done.extend(m.offset for m in ms)))


def test_messages_are_done_only_once_their_batch_is_durable_oldest_first() -> None:
    async def run() -> tuple[list[list[int]], list[int], list[int]]:
        box: Inbox[Msg] = Inbox()
        broker, done = Broker(), []
        task = _loop(box, broker, done)
        for i in range(4):
            box.put(Msg(i))
        await _settle()
        before = list(done)
        broker.ack_all()
        await _settle()
        task.cancel()
        return broker.handed, before, done

    handed, before, done = asyncio.run(run())
    assert handed == [[0, 1], [2, 3]]
    assert before == [] and done == [0, 1, 2, 3]


def test_at_most_max_in_flight_batches_wait_for_the_broker() -> None:
    async def run() -> tuple[int, int]:
        box: Inbox[Msg] = Inbox()
        broker, done = Broker(), []
        task = _loop(box, broker, done)
        for i in range(2 * (MAX_IN_FLIGHT + 3)):
            box.put(Msg(i))
        await _settle()
        ahead = len(broker.handed)
        broker.ack_all()
        await _settle()
        broker.ack_all()
        await _settle()
        task.cancel()
        return ahead, len(done)

    ahead, done = asyncio.run(run())
    assert ahead == MAX_IN_FLIGHT
    assert done == 2 * (MAX_IN_FLIGHT + 3)


def test_a_batch_the_broker_refused_is_sent_again_with_every_later_one_in_order(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inbox_module.log, "exception", lambda *a, **k: None)

    async def run() -> tuple[list[list[int]], list[int]]:
        box: Inbox[Msg] = Inbox()
        broker, done = Broker(), []
        broker.fail_next_ack = True
        task = _loop(box, broker, done)
        for i in range(4):
            box.put(Msg(i))
        await _settle()
        for _ in range(10):  # the redo waits for each batch's acknowledgement in turn
            broker.ack_all()
            await _settle()
        task.cancel()
        return broker.handed, done

    handed, done = asyncio.run(run())
    assert handed == [[0, 1], [2, 3], [0, 1], [2, 3]]
    assert done == [0, 1, 2, 3]


def test_messages_the_consumer_no_longer_owns_are_not_handed_over() -> None:
    async def run() -> tuple[list[list[int]], list[int]]:
        box: Inbox[Msg] = Inbox()
        broker, done = Broker(), []
        task = _loop(box, broker, done, keep=lambda ms: [m for m in ms if m.offset % 2])
        for i in range(4):
            box.put(Msg(i))
        await _settle()
        broker.ack_all()
        await _settle()
        task.cancel()
        return broker.handed, done

    handed, done = asyncio.run(run())
    assert handed == [[1], [3]] and done == [1, 3]
