"""The trends' shell (worker/trends.py) on a real processor (no Kafka) and an in-memory
changelog: closed weeks are written to the store's partition once they need it, survive
the eviction of their polls, and /stores/{id}'s trend reads them back."""

from __future__ import annotations

import asyncio

from streamproc.core import trends
from streamproc.core.records import US_PER_DAY, US_PER_HOUR
from streamproc.core.wire import encode_polls
from streamproc.kafka.partitioning import partition_of
from streamproc.worker.trends import Trends
from tests.support.stream import make_processor, msg

MONDAY = 1_673_827_200_000_000  # 2023-01-16T00:00:00Z


class MemoryChangelog:
    def __init__(self) -> None:
        self.rows: dict[tuple[int, str], bytes] = {}
        self.flushes = 0

    def get(self, partition: int, key: str) -> bytes | None:
        return self.rows.get((partition, key))

    def put(self, partition: int, key: str, value: bytes) -> None:
        self.rows[(partition, key)] = value

    async def flush(self) -> None:
        self.flushes += 1


def test_closed_weeks_are_kept_in_the_stores_partition_beyond_the_horizon() -> None:
    proc, _, _ = make_processor()
    log = MemoryChangelog()
    shell = Trends(proc, log, partitions=4)
    save = lambda state, _m: proc.cache.save(state)  # noqa: E731
    for day in range(24):  # hourly polls, down every 4th hour, a day at a time
        polls = [(MONDAY + (day * 24 + h) * US_PER_HOUR, h % 4 != 0) for h in range(24)]
        proc.apply_polls([msg("polls", "s1", encode_polls(polls), day)], save)
        asyncio.run(shell.tick())
    now = proc.watermarks.now()
    assert now == MONDAY + 24 * US_PER_DAY - US_PER_HOUR
    kept = trends.decode(log.get(partition_of("s1", 4), "s1"))
    first = trends.week_of(MONDAY)
    assert sorted(kept) == [first, first + 1, first + 2]
    up, down = kept[first]
    assert down * 3 == up, "a quarter of the hours down, open 24x7"
    assert proc.cache.get("s1").first_poll_us > trends.week_start(first + 1), "evicted"
    shown = shell.trend("s1", proc.cache.get("s1"), now)
    assert [t["kept"] for t in shown[-4:]] == [True, True, True, False]
    assert shown[-4]["uptime_percent"] == 75.0
    flushes = log.flushes
    asyncio.run(shell.tick())
    assert log.flushes == flushes, "nothing to write: settled weeks are left alone"
