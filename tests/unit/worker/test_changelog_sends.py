"""Changelog rows are never lost between RocksDB and the changelog, nor regressed."""

from __future__ import annotations

import asyncio

import pytest

from streamproc.worker.changelog_sends import ChangelogSends, Rows


async def _steps(n: int = 3) -> None:
    """Let the tasks started so far take their next steps."""
    for _ in range(n):
        await asyncio.sleep(0)


class _Changelog:
    """A local store (what RocksDB holds) and a broker whose answers the test decides."""

    def __init__(self) -> None:
        self.local: dict[tuple[int, bytes], bytes] = {}
        self.landed: list[Rows] = []
        self.answers: list[asyncio.Future] = []  # one per send, resolved by the test

    def write(self, sends: ChangelogSends, partition: int, key: bytes, value: bytes) -> None:
        self.local[partition, key] = value
        sends.put(partition, key, value)

    def read(self, partition: int, key: bytes) -> bytes | None:
        return self.local.get((partition, key))

    async def send(self, rows: Rows) -> None:
        answer = asyncio.get_running_loop().create_future()
        self.answers.append(answer)
        await answer
        self.landed.append(rows)

    def sends(self) -> ChangelogSends:
        return ChangelogSends(self.send, self.read)


def test_rows_of_a_send_cancelled_before_it_ran_are_held_again() -> None:
    asyncio.run(_rows_of_a_send_cancelled_before_it_ran_are_held_again())


async def _rows_of_a_send_cancelled_before_it_ran_are_held_again() -> None:
    """A worker stopping (or a failed batch) cancels the send before its first step."""
    log = _Changelog()
    sends = log.sends()
    log.write(sends, 0, b"hours-only", b"h1")
    log.write(sends, 1, b"other", b"x")
    flush = asyncio.ensure_future(sends.flush())
    await asyncio.sleep(0)  # the flush took the rows and started their send...
    for task in asyncio.all_tasks() - {asyncio.current_task()}:
        task.cancel()  # ...which is cancelled before it ran, as at shutdown
    with pytest.raises(asyncio.CancelledError):
        await flush
    await _steps()
    assert log.answers == []  # the send never ran
    assert len(sends) == 2  # but its rows wait for the next flush
    flush = asyncio.ensure_future(sends.flush())
    await _steps()
    log.answers[0].set_result(None)
    await flush
    assert log.landed == [{0: {b"hours-only": b"h1"}, 1: {b"other": b"x"}}]


def test_a_failed_send_never_puts_an_older_value_back() -> None:
    asyncio.run(_a_failed_send_never_puts_an_older_value_back())


async def _a_failed_send_never_puts_an_older_value_back() -> None:
    log = _Changelog()
    sends = log.sends()
    log.write(sends, 0, b"store", b"v1")
    first = asyncio.ensure_future(sends.flush())
    await _steps()
    log.write(sends, 0, b"store", b"v2")  # newer, sent by a later flush that lands
    second = asyncio.ensure_future(sends.flush())
    await _steps()
    log.answers[1].set_result(None)
    log.answers[0].set_exception(ConnectionError("broker node gone"))
    for flush in (first, second):
        with pytest.raises(ConnectionError):
            await flush
    assert log.landed == [{0: {b"store": b"v2"}}]
    assert sends.held.take() == {0: {b"store": b"v2"}}  # v2 again, never v1


def test_cancelling_a_flush_leaves_its_send_to_land() -> None:
    asyncio.run(_cancelling_a_flush_leaves_its_send_to_land())


async def _cancelling_a_flush_leaves_its_send_to_land() -> None:
    log = _Changelog()
    sends = log.sends()
    log.write(sends, 3, b"store", b"v1")
    flush = asyncio.ensure_future(sends.flush())
    await _steps()
    flush.cancel()  # the batch that waited for it gave up...
    log.answers[0].set_result(None)
    await _steps()
    assert log.landed == [{3: {b"store": b"v1"}}]  # ...the rows still landed
    assert len(sends) == 0


def test_rows_of_partitions_held_elsewhere_are_dropped() -> None:
    log = _Changelog()
    sends = log.sends()
    for partition in (0, 1, 2):
        log.write(sends, partition, b"k%d" % partition, b"v")
    assert sends.forget_partitions({1}.__contains__) == 2
    assert sends.held.take() == {1: {b"k1": b"v"}}


def test_a_failed_tombstone_is_held_again() -> None:
    asyncio.run(_a_failed_tombstone_is_held_again())


async def _a_failed_tombstone_is_held_again() -> None:
    """A row deleted locally (an evicted day, a store's old blob key) whose tombstone did
    not land is sent again: skipped, a takeover would restore the deleted row."""
    log = _Changelog()
    sends = log.sends()
    log.write(sends, 0, b"s1/d\x4e\x20", b"day")
    del log.local[0, b"s1/d\x4e\x20"]
    sends.put(0, b"s1/d\x4e\x20", None)
    flush = asyncio.ensure_future(sends.flush())
    await _steps()
    log.answers[0].set_exception(ConnectionError("broker node gone"))
    with pytest.raises(ConnectionError):
        await flush
    assert sends.held.take() == {0: {b"s1/d\x4e\x20": None}}


def test_a_send_failing_after_its_partition_moved_is_not_sent_again() -> None:
    asyncio.run(_a_send_failing_after_its_partition_moved_is_not_sent_again())


async def _a_send_failing_after_its_partition_moved_is_not_sent_again() -> None:
    """Sent again, the day row would land after the new holder's row of the same key, and
    the next worker to restore the partition would lose what the new holder added."""
    log = _Changelog()
    sends = log.sends()
    log.write(sends, 0, b"s1/d\x4e\x20", b"day without the last poll")
    log.write(sends, 1, b"s2/t", b"tail")
    flush = asyncio.ensure_future(sends.flush())
    await _steps()
    assert sends.forget_partitions({1}.__contains__) == 0  # partition 0 moved; nothing held
    log.answers[0].set_exception(ConnectionError("broker node gone"))
    with pytest.raises(ConnectionError):
        await flush
    assert sends.held.take() == {1: {b"s2/t": b"tail"}}  # partition 1 is still ours


def test_settle_waits_for_the_sends_in_flight() -> None:
    asyncio.run(_settle_waits_for_the_sends_in_flight())


async def _settle_waits_for_the_sends_in_flight() -> None:
    log = _Changelog()
    sends = log.sends()
    assert await sends.settle(0.01)  # nothing in flight
    log.write(sends, 0, b"k", b"v1")
    flush = asyncio.ensure_future(sends.flush())
    await _steps()
    log.write(sends, 0, b"k", b"v2")  # held, not in flight: settle does not send it
    assert not await sends.settle(0.01)  # the broker has not answered
    settle = asyncio.ensure_future(sends.settle(5))
    await _steps()
    assert not settle.done()
    log.answers[0].set_exception(ConnectionError("broker node gone"))
    assert await settle
    with pytest.raises(ConnectionError):
        await flush
    assert len(log.answers) == 1  # no new send was started
    assert sends.held.take() == {0: {b"k": b"v2"}}
