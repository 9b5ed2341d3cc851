"""Re-keying public events (worker/event_intake.py) without Kafka: grouped per store, polls
packed per partition, sent to each store's home partition, acknowledged before the batch
counts, bad ones dead-lettered."""

from __future__ import annotations

import asyncio
import json
import random

from streamproc.core import wire
from streamproc.core.report_rows import compute_report
from streamproc.core.timeparse import format_timestamp, to_iso
from streamproc.kafka.partitioning import partition_of
from streamproc.worker.event_intake import forward_events, sort_events
from streamproc.worker.processing import Incoming, Processor
from tests.support.stream import make_processor, stream_rows, synthetic

PARTITIONS = 4
H = 3_600_000_000


def ev(offset: int, doc: dict | bytes, key: bytes | None = None, part: int = 0) -> Incoming:
    value = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return Incoming("events", part, offset, key, value)


def poll(sid: str, ts: str, status: str = "active") -> dict:
    return {"type": "poll", "store_id": sid, "status": status, "timestamp_utc": ts}


class FakeTopics:
    """Records sends; each returns a future the test resolves (the broker's ack)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int, bytes | None, bytes | None]] = []
        self.acks: list[asyncio.Future] = []

    async def send(self, topic: str, partition: int, key: bytes | None, value: bytes | None):
        self.sent.append((topic, partition, key, value))
        fut = asyncio.get_running_loop().create_future()
        self.acks.append(fut)
        return fut


def test_a_batch_is_grouped_per_store_and_dead_letters_the_bad() -> None:
    proc, _, dead = make_processor()
    batch = [
        ev(0, poll("s1", "2023-01-22 12:00:00 UTC"), key=b"s1"),
        ev(1, poll("s2", "2023-01-22T12:00:00Z")),
        ev(2, poll("s1", "2023-01-22 13:00:00", "inactive")),
        ev(3, {"type": "hours", "store_id": "s1", "hours": [
            {"day": 0, "start_time_local": "09:00", "end_time_local": "17:00"}]}),
        ev(4, {"type": "hours", "store_id": "s1", "hours": []}),  # the last set wins
        ev(5, {"type": "timezone", "store_id": "s2", "timezone_str": "Asia/Tokyo"}),
        ev(6, poll("s3", "2023-13-01 00:00:00"), key=b"s3"),
        ev(7, b"not json"),
    ]
    topics = FakeTopics()

    async def run() -> int:
        task = asyncio.create_task(forward_events(batch, proc, topics.send, PARTITIONS))
        await asyncio.sleep(0.01)
        assert not task.done(), "the batch is not done before the broker acknowledges"
        assert proc.stats.messages["events"] == 0
        for fut in topics.acks:
            fut.set_result(None)
        return await task

    same = partition_of("s1", PARTITIONS) == partition_of("s2", PARTITIONS)
    assert asyncio.run(run()) == (3 if same else 4)
    t12 = 1674388800 * 1_000_000
    s1, s2 = partition_of("s1", PARTITIONS), partition_of("s2", PARTITIONS)
    polls = {"s1": [(t12, True), (t12 + H, False)], "s2": [(t12, True)]}
    packed = ([("polls", s1, None, wire.encode_packed_polls(polls))] if s1 == s2 else
              sorted(("polls", partition_of(sid, PARTITIONS), None,
                      wire.encode_packed_polls({sid: p})) for sid, p in polls.items()))
    assert topics.sent == [
        ("timezones", s2, b"s2", wire.encode_timezone("Asia/Tokyo")),
        ("hours", s1, b"s1", None),
        *packed,
    ]
    reasons = [r.reason for r in dead]
    assert reasons[0] == ("events[0]@6: poll: timestamp_utc '2023-13-01 00:00:00': "
                          "month 13 is outside 01..12")
    assert reasons[1].startswith("events[0]@7: value is not JSON")
    assert [r.source for r in dead] == ["events", "events"]
    assert proc.stats.messages["events"] == len(batch)
    assert proc.processed[("events", 0)] == 8


def test_a_failed_send_fails_the_batch() -> None:
    proc, _, _ = make_processor()
    topics = FakeTopics()

    async def run() -> None:
        task = asyncio.create_task(forward_events(
            [ev(0, poll("s1", "2023-01-22 12:00:00 UTC"))], proc, topics.send, PARTITIONS))
        await asyncio.sleep(0.01)
        topics.acks[0].set_exception(OSError("broker gone"))
        try:
            await task
        except OSError:
            return
        raise AssertionError("the failure must reach the agent")

    asyncio.run(run())
    assert proc.stats.messages["events"] == 0, "not counted as done: it is read again"


def as_events(polls, hours, zones, rng: random.Random) -> list[Incoming]:
    """Every record as a public event, in any order, half of them keyed."""
    docs = [poll(sid, rng.choice([format_timestamp(ts), to_iso(ts)]),
                 "active" if up else "inactive") for sid, ts, up in polls]
    by_store: dict[str, list] = {}
    for sid, d, s, e in hours:
        by_store.setdefault(sid, []).append(
            {"day": d, "start_time_local": _clock(s), "end_time_local": _clock(e)})
    docs += [{"type": "hours", "store_id": sid, "hours": rows} for sid, rows in by_store.items()]
    docs += [{"type": "timezone", "store_id": sid, "timezone_str": tz} for sid, tz in zones]
    rng.shuffle(docs)
    return [ev(i, d, key=d["store_id"].encode() if i % 2 else None, part=i % 3)
            for i, d in enumerate(docs)]


def _clock(us: int) -> str:
    return f"{us // H:02d}:{us % H // 60_000_000:02d}:{us % 60_000_000 // 1_000_000:02d}"


def apply_sent(proc: Processor, sent: list) -> None:
    def save(state, _msg):
        proc.cache.save(state)

    for offset, (topic, partition, key, value) in enumerate(sent):
        msg = Incoming(topic, partition, offset, key, value)
        if topic == "polls":
            proc.apply_polls([msg], save)
        elif topic == "hours":
            proc.apply_hours(msg, save)
        else:
            proc.apply_timezone(msg, save)


def test_events_re_keyed_then_applied_give_the_batch_report() -> None:
    polls, hours, zones = synthetic(7)
    zones = list({sid: (sid, tz) for sid, tz in zones}.values())  # one zone row per store
    expected = [tuple(r) for r in compute_report(polls, hours, zones)]
    events = as_events(polls, hours, zones, random.Random(3))
    intake, _, dead = make_processor()
    topics = FakeTopics()

    async def run() -> None:
        for i in range(0, len(events), 300):
            task = asyncio.create_task(
                forward_events(events[i : i + 300], intake, topics.send, PARTITIONS))
            while not task.done():
                await asyncio.sleep(0)
                for fut in topics.acks:
                    if not fut.done():
                        fut.set_result(None)
            await task

    asyncio.run(run())
    assert dead == []
    for topic, p, k, value in topics.sent:
        stores = ([k.decode()] if k is not None else
                  [sid for sid, _ in wire.decode_packed_polls(value)[0]])
        assert all(p == partition_of(sid, PARTITIONS) for sid in stores), (topic, stores)
    assert sum(1 for t, *_ in topics.sent if t == "polls") <= PARTITIONS * (len(events) // 300 + 1)
    worker, _, refused = make_processor()
    worker.partitions = PARTITIONS  # refuses a store outside its home partition
    apply_sent(worker, topics.sent)
    assert refused == []
    assert stream_rows(worker, worker.watermarks.now()) == expected


def test_sort_events_keeps_the_last_hours_and_zone_per_store() -> None:
    rejected: list = []
    outbox = sort_events([
        ev(0, {"type": "timezone", "store_id": "a", "timezone_str": "Asia/Tokyo"}),
        ev(1, {"type": "timezone", "store_id": "b", "timezone_str": "Europe/Paris"}),
        ev(2, {"type": "timezone", "store_id": "a", "timezone_str": "Europe/Berlin"}),
    ], lambda m, r: rejected.append(r))
    assert outbox.timezones == {"b": "Europe/Paris", "a": "Europe/Berlin"}
    assert list(outbox.timezones) == ["b", "a"]
    assert rejected == []


def test_an_empty_hours_event_is_a_tombstone_and_its_store_appears() -> None:
    intake, _, _ = make_processor()
    topics = FakeTopics()

    async def run() -> None:
        task = asyncio.create_task(forward_events(
            [ev(0, {"type": "hours", "store_id": "z", "hours": []})], intake, topics.send,
            PARTITIONS))
        while not topics.acks:
            await asyncio.sleep(0)
        topics.acks[0].set_result(None)
        await task

    asyncio.run(run())
    assert topics.sent == [("hours", partition_of("z", PARTITIONS), b"z", None)]
    worker, _, _ = make_processor()
    apply_sent(worker, topics.sent)
    assert stream_rows(worker, 0) == [("z", 0, 0, 0, 0, 0, 0)]
