"""producers.grouping and producers.pacing: pure message building and the speed scheduler."""

from __future__ import annotations

import asyncio

import pytest

from producers import grouping
from producers.pacing import SpeedSchedule, due_end, next_wake, run_paced
from producers.sinks import default_partition
from streamproc.core import wire
from streamproc.core.records import US_PER_HOUR, US_PER_SECOND, Rejection

T0 = 1_674_000_000 * US_PER_SECOND


def test_split_items_groups_per_store_in_arrival_order() -> None:
    bad = Rejection("polls", 3, "x", "bad")
    items = [("a", 3, True), ("b", 1, False), bad, ("a", 2, False)]
    groups, rejections, n = grouping.split_items(items)
    assert groups == {"a": [(3, True), (2, False)], "b": [(1, False)]}
    assert rejections == [bad]
    assert n == 4


def test_poll_messages_split_big_stores() -> None:
    groups = {"a": [(i, i % 2 == 0) for i in range(5)], "b": [(7, True)]}
    out = list(grouping.poll_messages(groups, max_per_message=2))
    assert [(k, n) for k, _v, n in out] == [(b"a", 2), (b"a", 2), (b"a", 1), (b"b", 1)]
    decoded = [p for k, v, _n in out if k == b"a" for p in wire.decode_polls(v)]
    assert decoded == groups["a"]
    with pytest.raises(ValueError):
        list(grouping.poll_messages(groups, max_per_message=0))


def test_default_max_polls_message_fits_kafka_and_wire_limits() -> None:
    polls = [(T0 + i, True) for i in range(grouping.MAX_POLLS_PER_MESSAGE)]
    [(_k, value, _n)] = grouping.poll_messages({"s": polls})
    assert len(value) < 900_000
    assert len(wire.decode_polls(value)) == grouping.MAX_POLLS_PER_MESSAGE


def test_group_hours_full_sets_without_duplicates() -> None:
    rows = [("a", 0, 1, 2), ("b", 3, 4, 5), ("a", 1, 1, 2), ("a", 0, 1, 2)]
    groups, rejections = grouping.group_hours(rows)
    assert groups == {"a": [(0, 1, 2), (1, 1, 2)], "b": [(3, 4, 5)]}
    assert rejections == []
    messages = dict(grouping.hours_messages(groups))
    assert wire.decode_hours(messages[b"a"]) == [(0, 1, 2), (1, 1, 2)]


def test_group_hours_rejects_rows_beyond_the_wire_limit() -> None:
    rows = [("a", d, s, s + 1) for d in range(2) for s in range(3)]
    groups, rejections = grouping.group_hours(rows, max_rows=4)
    assert len(groups["a"]) == 4
    assert len(rejections) == 2
    assert all(r.source == "hours" and "6 distinct" in r.reason for r in rejections)


def test_last_timezone_wins() -> None:
    zones = grouping.last_timezones([("a", "UTC"), ("b", "Asia/Tokyo"), ("a", "Europe/Paris")])
    assert zones == {"a": "Europe/Paris", "b": "Asia/Tokyo"}
    messages = dict(grouping.timezone_messages(zones))
    assert wire.decode_timezone(messages[b"a"]) == "Europe/Paris"


def test_rejection_message() -> None:
    key, value = grouping.rejection_message(Rejection("hours", 7, "x,y", "why"))
    assert key == b"hours"
    assert value is not None and b'"line":7' in value


def test_default_partition_matches_aiokafka() -> None:
    from aiokafka.partitioner import DefaultPartitioner

    for i in range(200):
        key = str(1_000_000_000_000_000_000 + i * 7919).encode()
        assert default_partition(key, 8) == DefaultPartitioner()(key, list(range(8)), [])


# --------------------------------------------------------------------------- pacing


def test_schedule_cutoff_and_due_at() -> None:
    s = SpeedSchedule(T0, 3600)
    assert s.cutoff(0) == T0
    assert s.cutoff(1.0) == T0 + US_PER_HOUR
    assert s.due_at(T0 + 2 * US_PER_HOUR) == pytest.approx(2.0)
    with pytest.raises(ValueError):
        SpeedSchedule(T0, 0)


def test_due_end_is_inclusive_of_the_cutoff() -> None:
    polls = [("a", 1, True), ("a", 2, True), ("b", 2, False), ("a", 5, True)]
    assert due_end(polls, 0, 0) == 0
    assert due_end(polls, 0, 2) == 3
    assert due_end(polls, 3, 4) == 3
    assert due_end(polls, 0, 10) == 4


def test_next_wake_sleeps_through_gaps_but_refreshes() -> None:
    s = SpeedSchedule(T0, 3600)
    assert next_wake(s, 0.0, T0, 0.05) == pytest.approx(0.05)  # due now: one tick
    assert next_wake(s, 0.0, T0 + US_PER_HOUR // 2, 0.05) == pytest.approx(0.5)
    assert next_wake(s, 0.0, T0 + 10 * US_PER_HOUR, 0.05) == pytest.approx(1.0)  # refresh


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_run_paced_sends_slices_when_due() -> None:
    clock = FakeClock()
    half = US_PER_HOUR // 2
    polls = [
        ("a", T0, True),
        ("b", T0, False),
        ("a", T0 + half, True),  # due after 0.5 s at x3600
        ("a", T0 + 3 * US_PER_HOUR, False),  # due after 3 s
        ("b", T0 + 3 * US_PER_HOUR + 60 * US_PER_SECOND, True),  # 1/60 s later: next tick
        ("b", T0 + 3 * US_PER_HOUR + 61 * US_PER_SECOND, True),  # same tick
    ]
    sent: list[tuple[float, list]] = []

    async def send_slice(part, cutoff):
        sent.append((clock.now - 100.0, list(part)))

    n = asyncio.run(run_paced(polls, 3600, send_slice, clock=clock, sleep=clock.sleep, tick=0.05))
    assert n == 6
    assert [round(t, 6) for t, _ in sent] == [0.0, 0.5, 3.0, 3.05]
    assert [len(p) for _, p in sent] == [2, 1, 1, 2]
    # asleep through the gap, waking at least once a second
    assert max(clock.sleeps) <= 1.0 + 1e-9
    assert len(clock.sleeps) <= 7


def test_run_paced_stops_when_asked() -> None:
    clock = FakeClock()
    polls = [("a", T0 + i * US_PER_HOUR, True) for i in range(10)]
    sent: list[int] = []

    async def send_slice(part, cutoff):
        sent.extend(p[1] for p in part)

    def stopped() -> bool:
        return len(sent) >= 3

    n = asyncio.run(
        run_paced(polls, 3600, send_slice, clock=clock, sleep=clock.sleep, stopped=stopped)
    )
    assert n == 3 and len(sent) == 3


def test_run_paced_empty() -> None:
    async def send_slice(part, cutoff):  # pragma: no cover
        raise AssertionError

    clock = FakeClock()
    assert asyncio.run(run_paced([], 10, send_slice, clock=clock, sleep=clock.sleep)) == 0
