"""The monitor's shell on a real processor (no Kafka): polls that take a store down and up
again publish one outage event each, in order; the fleet's rows cover every store and keep
the set of stores that are down; a rebalance forgets it."""

from __future__ import annotations

import asyncio

import orjson

from streamproc.config import Settings
from streamproc.core import wire
from streamproc.core.records import US_PER_HOUR
from streamproc.worker.monitoring import Monitor
from tests.support.stream import T0, make_processor, msg


class Outages:
    """The outages topic: what the monitor sends."""

    def __init__(self) -> None:
        self.sent: list[dict] = []

    def send_soon(self, key: bytes, value: bytes) -> None:
        self.sent.append(orjson.loads(value))


def _monitored() -> tuple[Monitor, Outages, object]:
    proc, _, _ = make_processor()
    outages = Outages()
    monitor = Monitor(Settings(), proc, outages, alerts_table=None)
    proc.on_status = monitor.on_status
    return monitor, outages, proc


def _poll(proc, store_id: str, hour: int, up: bool, offset: int) -> None:
    message = msg("polls", store_id, wire.encode_polls([(T0 + hour * US_PER_HOUR, up)]),
                  offset)
    proc.apply_polls([message], lambda state, _m: proc.cache.save(state))


def test_a_store_going_down_and_up_publishes_two_events_in_order() -> None:
    monitor, outages, proc = _monitored()
    _poll(proc, "s1", 0, True, 0)
    _poll(proc, "s1", 1, False, 1)
    assert monitor.down == {"s1"}
    _poll(proc, "s1", 2, True, 2)
    kinds = [(e["kind"], e["store_id"]) for e in outages.sent]
    assert len(kinds) == 2 and kinds[0][1] == kinds[1][1] == "s1"
    assert kinds[0][0] != kinds[1][0]
    assert all("emitted_ms" in e for e in outages.sent)
    assert monitor.down == set()


def test_the_fleet_covers_every_store_and_a_rebalance_forgets_who_is_down() -> None:
    async def rows(monitor: Monitor):
        return await monitor.fleet.rows()

    monitor, _, proc = _monitored()
    _poll(proc, "s1", 0, False, 0)
    _poll(proc, "s2", 0, True, 1)
    monitor.forget_partitions()
    assert monitor.down == set()
    now, fleet = asyncio.run(rows(monitor))
    assert now == T0
    assert sorted((r[0], r[1]) for r in fleet) == [("s1", "inactive"), ("s2", "active")]
    assert monitor.down == {"s1"}, "the fleet's pass finds the stores that are down again"
