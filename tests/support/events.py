"""Public events (docs/events.md) made from a generated data set and published as any client
would: what the event tests and the burst test send."""

from __future__ import annotations

import asyncio
import csv
import json
import time
from pathlib import Path

from aiokafka import AIOKafkaProducer

from streamproc.sandbox import bootstrap_of

# A bad event of each kind, with the reason the worker gives.
BAD = [
    ({"type": "poll", "store_id": "bad-1", "status": "active",
      "timestamp_utc": "2023-03-32 10:00:00 UTC"},
     "poll: timestamp_utc '2023-03-32 10:00:00 UTC': day 32 does not exist in 2023-03"),
    ({"type": "hours", "store_id": "bad-2",
      "hours": [{"day": 7, "start_time_local": "09:00", "end_time_local": "17:00"}]},
     "hours: hours[0]: day 7 is outside 0..6 (0=Monday)"),
    ({"type": "timezone", "store_id": "bad-3", "timezone_str": "america/chicago"},
     "timezone: timezone_str 'america/chicago' is not a known IANA time zone "
     "(did you mean 'America/Chicago'?)"),
]


Message = tuple[str, bytes | None, bytes | None]


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def as_events(data: Path) -> list[dict]:
    """Each poll row, each store's whole set of hours rows, each store's (last) zone row."""
    events = [{"type": "poll", **r} for r in rows(data / "store_status.csv")]
    sets: dict[str, list[dict]] = {}
    for r in rows(data / "menu_hours.csv"):
        sets.setdefault(r["store_id"], []).append(
            {"day": int(r["day"]), "start_time_local": r["start_time_local"],
             "end_time_local": r["end_time_local"]})
    events += [{"type": "hours", "store_id": s, "hours": h} for s, h in sets.items()]
    zones = {r["store_id"]: r["timezone_str"] for r in rows(data / "timezones.csv")}
    events += [{"type": "timezone", "store_id": s, "timezone_str": tz} for s, tz in zones.items()]
    return events


def messages(topic: str, events: list[dict]) -> list[Message]:
    return [(topic, e["store_id"].encode() if i % 2 else None, json.dumps(e).encode())
            for i, e in enumerate(events)]


async def _publish(bootstrap: str, batch: list[Message]) -> list[int]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(t, value, key=key) for t, key, value in batch]
        return [meta.partition for meta in await asyncio.gather(*futures)]
    finally:
        await producer.stop()


def publish(env: dict[str, str], batch: list[Message]) -> list[int]:
    """Send every message as any client would (aiokafka, its default partitioner; keyless
    ones spread over the partitions); the partition each landed in."""
    return asyncio.run(_publish(bootstrap_of(env), batch))


def wait_handled(worker, topic: str, count: int, timeout: float = 120.0) -> None:
    """Until the worker has re-keyed ``count`` events (and the broker acknowledged them)."""
    deadline = time.monotonic() + timeout
    while True:
        worker.check_alive()
        handled = worker.get_json("/health")["messages"].get(topic, 0)
        if handled >= count:
            return
        assert time.monotonic() < deadline, f"{handled} of {count} events handled"
        time.sleep(0.2)
