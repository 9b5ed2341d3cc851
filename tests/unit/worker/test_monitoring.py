"""The monitor's shell on a real processor (no Kafka): polls that take a store down and up
again publish one outage event each, in order; the fleet's rows cover every store and keep
the set of stores that are down; a rebalance forgets it."""

from __future__ import annotations

import asyncio

import orjson

from streamproc.config import Settings
from streamproc.core import wire
from streamproc.core.records import US_PER_HOUR, US_PER_MINUTE
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


def test_a_store_not_seen_active_after_opening_publishes_did_not_open_once() -> None:
    proc, _, _ = make_processor()
    outages = Outages()
    monitor = Monitor(Settings(alert_webhook="http://127.0.0.1:9/hook", no_open_after_min=30),
                      proc, outages, alerts_table={})
    proc.on_status = monitor.on_status
    save = lambda state, _m: proc.cache.save(state)  # noqa: E731
    # open 09:00-17:00 UTC every day; T0 is a Wednesday, 00:00 UTC
    proc.apply_hours(msg("hours", "s1", wire.encode_hours(
        [(d, 9 * US_PER_HOUR, 17 * US_PER_HOUR) for d in range(7)])), save)
    proc.apply_timezone(msg("tz", "s1", wire.encode_timezone("UTC")), save)
    proc.apply_hours(msg("hours", "s2", wire.encode_hours(
        [(d, 9 * US_PER_HOUR, 17 * US_PER_HOUR) for d in range(7)])), save)
    proc.apply_timezone(msg("tz", "s2", wire.encode_timezone("UTC")), save)
    def poll(store_id: str, minute: int, up: bool) -> None:
        message = msg("polls", store_id,
                      wire.encode_polls([(T0 + minute * US_PER_MINUTE, up)]), minute)
        proc.apply_polls([message], save)

    poll("s1", 8 * 60, True)  # before the opening: not an observation
    poll("s1", 9 * 60 + 15, False)  # 09:15 inactive, then nothing
    poll("s2", 9 * 60 + 15, True)  # s2 opened
    assert proc.watermarks.now() == T0 + (9 * 60 + 15) * US_PER_MINUTE
    asyncio.run(monitor.scan_openings())
    assert not [e for e in outages.sent if e["kind"] == "no_open"], "within the grace"
    poll("s2", 9 * 60 + 40, True)  # 09:40: the grace (30 min) has passed for s1
    asyncio.run(monitor.scan_openings())
    asyncio.run(monitor.scan_openings())
    found = [e for e in outages.sent if e["kind"] == "no_open"]
    assert [(e["store_id"], e["opening_us"]) for e in found] == [("s1", T0 + 9 * US_PER_HOUR)]
    assert found[0]["timezone"] == "UTC"
