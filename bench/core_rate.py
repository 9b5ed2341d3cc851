"""The pure core's apply rate, measured in the bench's own process on the same data.

The baseline of every ingest figure (issue 15): the messages `streamproc replay` would send
(built here with the same grouping code, no Kafka), applied by a
:class:`~streamproc.worker.processing.Processor` over an in-memory table. What the worker
adds on top of this (Faust's consume path, RocksDB, the changelog, commits) is the cost of
the stream; "end to end ÷ core" says how much of the machine the stream leaves to the rules.
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from producers import grouping
from producers.pacing import run_paced
from streamproc.core.records import Poll
from streamproc.csvfiles import iter_hours, iter_polls, iter_timezones
from streamproc.kafka.partitioning import partition_of
from streamproc.worker.processing import Incoming, Processor, Watermarks
from streamproc.worker.statestore import StateCache

PARTITIONS = 8


@dataclass
class CoreRun:
    messages: int
    polls: int
    seconds: float

    @property
    def messages_per_s(self) -> float:
        return self.messages / self.seconds if self.seconds else float("nan")

    @property
    def polls_per_s(self) -> float:
        return self.polls / self.seconds if self.seconds else float("nan")


def _open(path: Path):
    return gzip.open(path, "rt", newline="") if path.suffix == ".gz" else path.open(newline="")


def _records(rows: Iterable[object]) -> list:
    return [r for r in rows if r.__class__ is tuple]


def reference_messages(hours: Path, timezones: Path) -> list[Incoming]:
    """The time-zone and hours messages of a replay of these files, as the worker gets them."""
    with _open(timezones) as f:
        zones = grouping.last_timezones(_records(iter_timezones(f)))
    with _open(hours) as f:
        groups, _too_many = grouping.group_hours(_records(iter_hours(f)))
    out = [_keyed("tz", key, value) for key, value in grouping.timezone_messages(zones)]
    out += [_keyed("hours", key, value) for key, value in grouping.hours_messages(groups)]
    return out


def _keyed(topic: str, key: bytes, value: bytes) -> Incoming:
    return Incoming(topic, partition_of(key.decode(), PARTITIONS), 0, key, value)


def read_polls(path: Path, limit: int | None = None) -> list[Poll]:
    with _open(path) as f:
        polls = _records(iter_polls(f))
    return polls[:limit] if limit is not None else polls


def paced_messages(polls: list[Poll], speed: float, tick: float) -> list[Incoming]:
    """The packed messages of ``replay --speed`` (one per partition per time slice), with the
    slices a replay on an idle machine would cut (a virtual clock)."""
    now = [0.0]
    out: list[Incoming] = []

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    async def send_slice(part, _cutoff: int) -> None:
        groups = grouping.group_polls(part)
        for partition, value, _n in grouping.packed_poll_messages(groups, PARTITIONS):
            out.append(Incoming("polls", partition, len(out), None, value))

    asyncio.run(run_paced(grouping.sorted_by_time(polls), speed, send_slice,
                          clock=lambda: now[0], sleep=sleep, tick=tick))
    return out


def fast_messages(polls: list[Poll]) -> list[Incoming]:
    """The keyed messages of a fast replay in one chunk (one per store)."""
    groups = grouping.group_polls(polls)
    return [Incoming("polls", partition_of(key.decode(), PARTITIONS), i, key, value)
            for i, (key, value, _n) in enumerate(grouping.poll_messages(groups))]


def new_processor() -> Processor:
    return Processor(StateCache({}), Watermarks({}), lambda _r: None, partitions=PARTITIONS)


def apply_profiles(messages: list[Incoming], processor: Processor | None = None) -> CoreRun:
    """Hours and zones one message at a time, each changed store serialised (``to_bytes``)."""
    proc = processor or new_processor()
    save = lambda state, _msg: proc.cache.save(state)  # noqa: E731
    started = time.perf_counter()
    for msg in messages:
        (proc.apply_timezone if msg.topic == "tz" else proc.apply_hours)(msg, save)
    return CoreRun(len(messages), 0, time.perf_counter() - started)


def apply_polls(messages: list[Incoming], processor: Processor | None = None,
                batch: int = 2000) -> CoreRun:
    """Polls in batches of ``batch`` messages (the worker's take()), each changed store
    serialised once per batch."""
    proc = processor or new_processor()
    save = lambda state, _msg: proc.cache.save(state)  # noqa: E731
    before = proc.stats.polls
    started = time.perf_counter()
    for i in range(0, len(messages), batch):
        proc.apply_polls(messages[i:i + batch], save)
    return CoreRun(len(messages), proc.stats.polls - before, time.perf_counter() - started)


def chunked_messages(polls: list[Poll], chunk_rows: int) -> list[Incoming]:
    """The keyed messages of a fast replay: one per store per chunk, chunks growing up to
    ``chunk_rows`` rows as the replay cuts them."""
    from producers.replay import chunk_sizes

    out: list[Incoming] = []
    start, sizes = 0, chunk_sizes(chunk_rows)
    while start < len(polls):
        size = next(sizes)
        out += fast_messages(polls[start:start + size])
        start += size
    return out


def week_core(polls: Path, hours: Path, timezones: Path) -> CoreRun:
    """The core on the messages of ``replay`` (default chunks) of the week, after its hours and
    zones: the baseline of the end-to-end figure."""
    from producers.replay import DEFAULT_CHUNK_ROWS

    proc = new_processor()
    apply_profiles(reference_messages(hours, timezones), proc)
    return apply_polls(chunked_messages(read_polls(polls), DEFAULT_CHUNK_ROWS), proc)
