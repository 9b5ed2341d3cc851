"""Held changelog rows sent in the background, and held again when a send does not land.

A table row is written to the local RocksDB at once and to the changelog later, with the
rest of its batch. A row that reaches RocksDB but never the changelog is a silent loss: the
worker that takes the partition over restores it from the changelog without that row, and
applying the input again does not write it again, because to this worker's RocksDB nothing
changes (a store with hours and no polls is written once, ever). So every row taken for a
send is, when that send fails *or is cancelled*, held again for the next flush.

Two ways it went wrong before (found by ``streamproc soak``):

* a send task cancelled before its first step (a failed batch cancels the batches in flight
  behind it; a worker stopping cancels everything) never ran the code that held its rows
  again: asyncio closes such a coroutine without running any of it;
* a failed send held its own, older values again even when a later send had carried newer
  ones: the changelog then ended with an older state of the store than RocksDB;
* a send still in flight when its partition moved to another worker failed *after* the move
  and held its rows again; the next flush sent them, and they landed after the new holder's
  rows of the same keys: a day row without a poll the new holder had sealed into it, so the
  next worker to restore that partition lost the poll (found by reading the code; README,
  soak finding 10).
  Now a rebalance waits until every send in flight landed or failed (:meth:`settle`), and a
  failed send holds again only rows of partitions this worker still holds.

Here the outcome of a send is seen by a done callback, which runs whatever happened to the
task, and what is held again is each key's *current* local value: a key gone from RocksDB
is held again as a delete (its tombstone may be what failed to land: dropped, a takeover
would restore a deleted day row or a store's old one-blob key).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from streamproc.worker.statestore import WriteBehind

Rows = dict[int, dict[bytes, bytes | None]]  # partition -> key -> value (None: a tombstone)
SendRows = Callable[[Rows], Awaitable[None]]  # returns once the broker acknowledged them all
ReadRow = Callable[[int, bytes], "bytes | None"]  # the local (RocksDB) value of a key


class ChangelogSends:
    """``put`` holds a row; ``flush`` sends what is held and waits for every send so far."""

    def __init__(self, send: SendRows, read: ReadRow) -> None:
        self.held = WriteBehind()
        self._send = send
        self._read = read
        self._sending: set[asyncio.Future] = set()
        self._holds: Callable[[int], bool] = lambda partition: True  # until an assignment

    def put(self, partition: int, key: bytes, value: bytes | None) -> None:
        """Hold a row for the next flush; ``None`` sends a tombstone (the key deleted)."""
        self.held.add(partition, key, value)

    def __len__(self) -> int:
        return len(self.held)

    async def flush(self) -> None:
        """Until every row put so far (by any caller) is acknowledged by the broker; raises
        what a failed send raised (its rows are held again). Cancelling a flush does not
        cancel the sends: they land or are held again on their own."""
        if len(self.held):
            self._start(self.held.take())
        if self._sending:
            await asyncio.gather(*(asyncio.shield(task) for task in list(self._sending)))

    async def settle(self, timeout: float) -> bool:
        """Until every send in flight landed or failed (its rows held again), without
        starting new ones; False if some were still in flight after ``timeout`` seconds.
        A rebalance waits for this: a send that lands after the partition's new holder
        wrote the same keys would leave the changelog with the older rows."""
        if self._sending:
            _, pending = await asyncio.wait(list(self._sending), timeout=timeout)
            return not pending
        return True

    def forget_partitions(self, keep: Callable[[int], bool]) -> int:
        """Drop the held rows of partitions this worker no longer holds (their new holder
        reads the input again; sent from here they could land after its newer rows), and
        from now on hold again only rows of partitions that ``keep`` accepts."""
        self._holds = keep
        return self.held.drop(lambda partition: not keep(partition))

    def _start(self, rows: Rows) -> None:
        task = asyncio.ensure_future(self._send(rows))
        self._sending.add(task)
        task.add_done_callback(lambda done: self._settled(done, rows))

    def _settled(self, task: asyncio.Future, rows: Rows) -> None:
        self._sending.discard(task)
        if task.cancelled() or task.exception() is not None:
            self._hold_again(rows)

    def _hold_again(self, rows: Rows) -> None:
        """Hold each key of ``rows`` again with its current local value (a later write may
        have replaced it, and a later send may have carried that), unless it is held; a key
        no longer stored locally is held again as a tombstone. Rows of a partition this
        worker no longer holds are dropped (see :meth:`forget_partitions`)."""
        for partition, items in rows.items():
            if not self._holds(partition):
                continue
            for key in items:
                if not self.held.holds(partition, key):
                    self.held.add(partition, key, self._read(partition, key))
