"""A stream processor without Kafka, and small synthetic data sets to feed it: what the
unit tests of the stream (processing, packed polls, public events, monitoring) share."""

from __future__ import annotations

import random

from streamproc.core import wire
from streamproc.core.records import US_PER_HOUR, US_PER_MINUTE
from streamproc.worker.processing import Incoming, Processor, Watermarks
from streamproc.worker.statestore import StateCache

T0 = 1_674_000_000 * 1_000_000  # 2023-01-18 00:00 UTC
PARTITIONS = 4


def make_processor() -> tuple[Processor, dict, list]:
    table: dict[str, bytes] = {}
    dead: list = []
    proc = Processor(StateCache(table), Watermarks({}), dead.append)
    return proc, table, dead


def msg(topic: str, key: str | bytes, value: bytes | None, offset: int = 0) -> Incoming:
    raw_key = key.encode() if isinstance(key, str) else key
    return Incoming(topic, hash(raw_key) % PARTITIONS, offset, raw_key, value)


def synthetic(seed: int, stores: int = 12, days: int = 9):
    rng = random.Random(seed)
    polls, hours, zones = [], [], []
    tz_choices = ["America/New_York", "America/Los_Angeles", "Europe/Berlin", "Asia/Kolkata"]
    for i in range(stores):
        sid = f"{1000 + i}"
        flaky = rng.random() < 0.3
        for h in range(days * 24):
            if rng.random() < 0.1:
                continue
            ts = T0 + h * US_PER_HOUR + rng.randrange(-10 * US_PER_MINUTE, 10 * US_PER_MINUTE)
            polls.append((sid, ts, rng.random() > (0.4 if flaky else 0.03)))
        if rng.random() < 0.7:
            for day in range(7):
                if rng.random() < 0.15:
                    continue
                start = rng.randrange(0, 24) * US_PER_HOUR
                end = rng.randrange(0, 24) * US_PER_HOUR + rng.choice([0, 30 * US_PER_MINUTE])
                hours.append((sid, day, start, end))
        if rng.random() < 0.8:
            zones.append((sid, rng.choice(tz_choices)))
    zones.append(("only-zone", "America/Denver"))
    polls.append(("1000", polls[0][1], False))  # a conflicting duplicate
    return polls, hours, zones


def as_messages(polls, hours, zones, rng: random.Random, per_message: int = 5) -> list[Incoming]:
    messages = []
    shuffled = polls[:]
    rng.shuffle(shuffled)
    for i in range(0, len(shuffled), per_message):
        for sid, ts, up in shuffled[i : i + per_message]:
            messages.append(msg("polls", sid, wire.encode_polls([(ts, up)]), i))
    by_store: dict[str, list] = {}
    for sid, d, s, e in hours:
        by_store.setdefault(sid, []).append((d, s, e))
    messages += [msg("hours", sid, wire.encode_hours(rows)) for sid, rows in by_store.items()]
    messages += [msg("tz", sid, wire.encode_timezone(tz)) for sid, tz in zones]
    rng.shuffle(messages)
    return messages


def apply_all(proc: Processor, messages: list[Incoming], batch: int = 50) -> None:
    def save(state, _msg):
        proc.cache.save(state)

    for i in range(0, len(messages), batch):
        chunk = messages[i : i + batch]
        proc.apply_polls([m for m in chunk if m.topic == "polls"], save)
        for m in chunk:
            if m.topic == "hours":
                proc.apply_hours(m, save)
            elif m.topic == "tz":
                proc.apply_timezone(m, save)


def stream_rows(proc: Processor, now: int) -> list[tuple]:
    return [
        (sid, *proc.cache.get(sid).values(now)) for sid in sorted(proc.cache.store_ids())
    ]
