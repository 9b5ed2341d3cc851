"""A report snapshot that includes every event the broker acknowledged before it was asked.

It reads the input topics' end offsets, waits until this worker has processed up to them,
then evaluates every store at the watermark. The rows come from the live states, so a
snapshot is a read of memory, not a recomputation from the polls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Iterable
from dataclasses import dataclass

from streamproc.core.report_rows import FullRow, ReportRow, full_row
from streamproc.worker.processing import Processor

TP = tuple[str, int]
COMMITTED_REFRESH_S = 1.0
YIELD_EVERY = 500  # stores between yields to the event loop, so the stream keeps flowing


class SnapshotTimeout(TimeoutError):
    """The tables did not catch up with the broker in time."""


@dataclass(frozen=True)
class Snapshot:
    rows: list[ReportRow]
    now_us: int | None
    waited_s: float
    computed_s: float


async def wait_caught_up(
    processor: Processor,
    targets: dict[TP, int],
    committed: Callable[[], Awaitable[dict[TP, int]]] | None = None,
    timeout: float = 60.0,
    poll_interval: float = 0.01,
) -> float:
    """Wait until every (topic, partition) was processed up to ``targets``; return seconds.

    A partition counts as processed up to the larger of what this process applied and the
    group's committed offset: after a restart or a takeover, a partition with nothing new
    is never re-read here, but whoever applied it before committed it (and its state came
    back through the changelog). The committed offsets are re-read every second.
    """
    started = time.monotonic()
    base: dict[TP, int] = {}
    read_at = float("-inf")
    while True:
        behind = {
            tp: end
            for tp, end in targets.items()
            if max(processor.processed.get(tp, 0), base.get(tp, 0)) < end
        }
        if not behind:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            sample = ", ".join(f"{t}[{p}]" for t, p in list(behind)[:5])
            raise SnapshotTimeout(f"tables still behind the broker after {timeout:.0f}s: {sample}")
        if committed is not None and time.monotonic() - read_at >= COMMITTED_REFRESH_S:
            read_at = time.monotonic()
            base = await committed()
            continue
        await asyncio.sleep(poll_interval)


async def evaluate(
    processor: Processor, store_ids: Iterable[str], now_us: int | None, figures: bool = False
) -> list[ReportRow] | list[FullRow]:
    """Rows for the given stores at ``now_us``, sorted by store id as text (``figures``:
    FullRows, with what each number rests on)."""
    rows = []
    cache = processor.cache
    for i, store_id in enumerate(sorted(store_ids)):
        if figures:
            rows.append(full_row(store_id, cache.get(store_id), now_us))
        else:
            values = (0,) * 6 if now_us is None else cache.get(store_id).values(now_us)
            rows.append(ReportRow(store_id, *values))
        if i % YIELD_EVERY == YIELD_EVERY - 1:
            await asyncio.sleep(0)
    return rows


async def local_rows(processor: Processor, now_us: int | None, figures: bool = False,
                     stores: Collection[str] | None = None
                     ) -> list[ReportRow] | list[FullRow]:
    """Rows for every store this worker holds, or (``stores``: an owner's report) for those
    of them listed: only they are evaluated, not the whole fleet."""
    held = processor.cache.store_ids()
    wanted = None if stores is None else frozenset(stores)
    ids = list(held) if wanted is None else [s for s in held if s in wanted]
    return await evaluate(processor, ids, now_us, figures)
