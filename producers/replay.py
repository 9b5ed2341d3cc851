"""`streamproc replay`: publish the CSV sources to Kafka in the wire format of the worker.

Order: time zones (one message per store, last row wins), business hours (one message per
store with its full set of rows), special hours (one message per store with all its special
dates), then polls:

* fast (default): parsed rows in chunks, one message per store per chunk; the first chunk is
  small (:data:`FIRST_CHUNK_ROWS`) so the worker starts applying within a fraction of a
  second while the rest is parsed, and each next chunk doubles up to `--chunk-rows`;
* ``--speed X``: the whole file sorted by event time, sent as time passes at X times real
  time (x3600: one event hour per wall second), one packed message per partition per time
  slice (all the stores of the slice that live in that partition);
* ``--follow``: like ``tail -f``, from the first line, sending what arrived every ~100 ms
  as packed messages, until SIGINT/SIGTERM (or ``--idle-exit`` seconds without new data).

Rejected rows go to the dead-letter topic (key = source) and never stop the replay.
Topics are created first when missing (layout of `streamproc.kafka.topics`). The Kafka I/O sits
behind `producers.sinks.Sink`, so `Replayer` runs against an in-memory sink in unit tests.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import gzip
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain, islice
from typing import Any, TextIO

from producers import grouping
from producers.follow import FollowParser
from producers.pacing import run_paced
from producers.sinks import Sink
from streamproc.config import Settings
from streamproc.core import wire
from streamproc.core.records import Poll, Rejection, split_records
from streamproc.csvfiles import iter_hours, iter_polls, iter_special_hours, iter_timezones
from streamproc.progress import Progress

PROG = "streamproc replay"
# A week of the real fleet (~2M polls) in one chunk: one message and so one state write per
# store (every write is also a changelog message), for about 260 MB of producer memory.
DEFAULT_CHUNK_ROWS = 2_000_000
PROGRESS_STEP = 50_000  # rows parsed between progress updates (and sends) in fast mode
# The first chunk of a fast replay: its polls leave ~0.1 s after the start instead of after
# the whole file was parsed (5 s for the real week); chunks then double, so a store of the
# week is written ~6 times instead of once.
FIRST_CHUNK_ROWS = 50_000
FOLLOW_TICK = 0.1
SPEED_TICK = 0.05


def chunk_sizes(most: int) -> Iterator[int]:
    """Rows per chunk of a fast replay: :data:`FIRST_CHUNK_ROWS` (or ``most`` if smaller),
    then twice the last, up to ``most``."""
    rows = min(FIRST_CHUNK_ROWS, most)
    while True:
        yield rows
        rows = min(2 * rows, most)


class ReplayError(Exception):
    """A one-line error for the user (no traceback), with an exit status."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Topics:
    polls: str
    hours: str
    timezones: str
    deadletter: str
    special_hours: str = "store-special-hours"

    @classmethod
    def from_settings(cls, settings: Settings) -> Topics:
        return cls(
            settings.topic_polls,
            settings.topic_hours,
            settings.topic_timezones,
            settings.topic_deadletter,
            settings.topic_special_hours,
        )


@dataclass
class Summary:
    rows: int = 0  # poll rows read (accepted or rejected)
    polls: int = 0  # polls sent
    messages: int = 0  # poll messages sent
    hours_stores: int = 0
    timezone_stores: int = 0
    special_stores: int = 0
    rejected: Counter = field(default_factory=Counter)  # per source
    seconds: float = 0.0
    interrupted: bool = False

    def line(self) -> str:
        rate = self.polls / self.seconds if self.seconds > 0 else 0.0
        total = sum(self.rejected.values())
        by_source = ", ".join(f"{k} {v:,}" for k, v in sorted(self.rejected.items()))
        rejected = f"rejected {total:,}" + (f" ({by_source})" if by_source else "")
        note = " (interrupted)" if self.interrupted else ""
        return (
            f"replay: {self.polls:,} polls sent in {self.messages:,} messages; "
            f"hours {self.hours_stores:,} stores; timezones {self.timezone_stores:,} stores; "
            f"special hours {self.special_stores:,} stores; "
            f"{rejected}; {self.seconds:.1f} s; {rate:,.0f} polls/s{note}"
        )


def format_event_time(ts_us: int) -> str:
    return datetime.fromtimestamp(ts_us / 1e6, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def estimate_rows(path: str | os.PathLike[str]) -> int | None:
    """Rough number of data rows of a .csv or gzip file, from its (uncompressed) size and the
    mean length of its first lines; None when it cannot tell."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if f.read(2) == b"\x1f\x8b":
                f.seek(-4, os.SEEK_END)
                usize = int.from_bytes(f.read(4), "little")  # ISIZE: size mod 2**32
                while usize < size:
                    usize += 1 << 32
                f.seek(0)
                with gzip.GzipFile(fileobj=f) as z:
                    sample = z.read(1 << 16)
            else:
                usize = size
                f.seek(0)
                sample = f.read(1 << 16)
    except (OSError, EOFError):
        return None
    lines = sample.count(b"\n")
    if lines < 2:
        return None
    return max(int(usize * lines / len(sample)) - 1, 1)


class Replayer:
    """Sends parsed sources to a `Sink`; knows nothing of Kafka."""

    def __init__(
        self,
        sink: Sink,
        topics: Topics,
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        limit: int | None = None,
        max_polls_per_message: int = grouping.MAX_POLLS_PER_MESSAGE,
        progress_stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        self.sink = sink
        self.topics = topics
        self.chunk_rows = chunk_rows
        self.limit = limit
        self.max_polls_per_message = max_polls_per_message
        self.progress_stream = progress_stream
        self.clock = clock
        self.sleep = sleep
        self.summary = Summary()
        self.stopping = False
        self.signalled = False  # stopped by SIGINT/SIGTERM (see `stop`)

    def stop(self) -> None:
        """Ask a running replay to stop at the next chunk / slice / tick (then flush)."""
        self.stopping = True
        self.signalled = True

    # ------------------------------------------------------------------ common

    async def reject(self, rejections: Iterable[Rejection]) -> None:
        for r in rejections:
            key, value = grouping.rejection_message(r)
            await self.sink.send(self.topics.deadletter, key, value)  # type: ignore[arg-type]
            self.summary.rejected[r.source] += 1

    async def send_poll_groups(self, groups: dict[str, list[tuple[int, bool]]]) -> None:
        send, topic = self.sink.send, self.topics.polls
        for key, value, n in grouping.poll_messages(groups, self.max_polls_per_message):
            await send(topic, key, value)
            self.summary.messages += 1
            self.summary.polls += n

    async def send_packed_polls(self, groups: dict[str, list[tuple[int, bool]]]) -> None:
        """Live modes: one keyless message per partition carrying all its stores, because
        here each store has only a poll or two per send and the worker's cost is per message."""
        topic = self.topics.polls
        partitions = await self.sink.partitions_of(topic)
        for partition, value, n in grouping.packed_poll_messages(groups, partitions):
            await self.sink.send_to(topic, partition, None, value)
            self.summary.messages += 1
            self.summary.polls += n

    def _progress(self, label: str, total: int | None = None) -> Progress:
        return Progress(label, total=total, stream=self.progress_stream)

    def _limited(self, items: Iterator[Any]) -> Iterator[Any]:
        return items if self.limit is None else islice(items, self.limit)

    # ------------------------------------------------------------------ hours, zones

    async def send_timezones(self, source: Any) -> None:
        records, rejections = split_records(iter_timezones(source))
        await self.reject(rejections)
        zones = grouping.last_timezones(records)
        for key, value in grouping.timezone_messages(zones):
            await self.sink.send(self.topics.timezones, key, value)
        self.summary.timezone_stores += len(zones)

    async def send_hours(self, source: Any) -> None:
        records, rejections = split_records(iter_hours(source))
        groups, too_many = grouping.group_hours(records)
        await self.reject(rejections + too_many)
        for key, value in grouping.hours_messages(groups):
            await self.sink.send(self.topics.hours, key, value)
        self.summary.hours_stores += len(groups)

    async def send_special_hours(self, source: Any) -> None:
        """All of a store's special dates in one message (the compacted topic is an upsert)."""
        records, rejections = split_records(iter_special_hours(source))
        groups, too_many = grouping.group_hours(
            records, source="special_hours", max_rows=wire.MAX_SPECIAL_ROWS)
        await self.reject(rejections + too_many)
        for key, value in grouping.special_messages(groups):
            await self.sink.send(self.topics.special_hours, key, value)
        self.summary.special_stores += len(groups)

    # ------------------------------------------------------------------ polls

    async def send_polls_fast(self, items: Iterator[Any], total: int | None = None) -> None:
        """`items` (records and Rejections) in growing chunks (see the module docstring),
        grouped per store."""
        items = self._limited(items)
        if self.limit is not None and total is not None:
            total = min(total, self.limit)
        progress = self._progress("replay polls", total)
        sizes = chunk_sizes(self.chunk_rows)
        try:
            while not self.stopping:
                chunk_rows = next(sizes)
                groups: dict[str, list[tuple[int, bool]]] = {}
                rejections: list[Rejection] = []
                in_chunk = 0
                while in_chunk < chunk_rows:
                    step = min(PROGRESS_STEP, chunk_rows - in_chunk)
                    _g, _r, n = grouping.split_items(islice(items, step), groups, rejections)
                    if not n:
                        break
                    in_chunk += n
                    progress.advance(n)
                    await self.sleep(0)  # the producer sends the last chunk meanwhile
                if not in_chunk:
                    break
                self.summary.rows += in_chunk
                await self.reject(rejections)
                await self.send_poll_groups(groups)
                # In Kafka before the next chunk is parsed: parsing holds the event loop,
                # and the producer only sends while it runs (the first polls of the week
                # left 0.9 s late without this).
                await self.sink.flush()
        finally:
            progress.close()
        await self.sink.flush()

    async def send_polls_paced(self, items: Iterator[Any], speed: float, tick: float) -> None:
        """All polls sorted by event time, sent at `speed` times real time."""
        polls: list[Poll] = []
        rejections: list[Rejection] = []
        for item in self._limited(items):
            (polls if item.__class__ is tuple else rejections).append(item)
        self.summary.rows += len(polls) + len(rejections)
        await self.reject(rejections)
        await self.sink.flush()
        polls = grouping.sorted_by_time(polls)
        progress = self._progress(f"replay x{speed:g}", len(polls))

        async def send_slice(part: Sequence[Poll], cutoff: int) -> None:
            await self.send_packed_polls(grouping.group_polls(part))
            await self.sink.flush()
            progress.advance(len(part))

        def on_idle(cutoff: int) -> None:
            progress.label = f"replay x{speed:g} @ {format_event_time(min(cutoff, last))}"
            progress.advance(0)

        last = polls[-1][1] if polls else 0
        try:
            await run_paced(
                polls,
                speed,
                send_slice,
                clock=self.clock,
                sleep=self.sleep,
                tick=tick,
                stopped=lambda: self.stopping,
                on_idle=on_idle,
            )
        finally:
            progress.close()

    async def follow_polls(
        self, path: str | os.PathLike[str], *, idle_exit: float | None, tick: float = FOLLOW_TICK
    ) -> None:
        """Tail `path`, sending what arrived every `tick` seconds, grouped per store."""
        parser = FollowParser(path)
        parser.start()
        progress = self._progress("replay --follow")
        remaining = self.limit
        try:
            while True:
                ending = self.stopping or (remaining is not None and remaining <= 0)
                if ending:
                    parser.stop()  # the thread parses a held-back last line, then ends
                finished = parser.done  # read before draining: nothing comes after it
                items = parser.drain()
                if remaining is not None:
                    items = items[:remaining]
                    remaining -= len(items)
                if items:
                    groups, rejections, n = grouping.split_items(items)
                    self.summary.rows += n
                    await self.reject(rejections)
                    await self.send_packed_polls(groups)
                    await self.sink.flush()
                    progress.advance(n)
                if finished:
                    if parser.error is not None:
                        raise parser.error
                    break
                if ending:
                    continue
                if idle_exit is not None and time.monotonic() - parser.last_data >= idle_exit:
                    self.stopping = True  # stop the tail, then send what it still had
                    continue
                await self.sleep(tick)
        finally:
            parser.stop()
            progress.close()


# ---------------------------------------------------------------------------- CLI






class _Polls:
    """The polls iterator with its header already checked (HeaderError raised on creation);
    `close()` stops the file reader (and its gzip thread)."""

    def __init__(self, path: str) -> None:
        self._items = iter_polls(path)
        first = next(self._items, None)
        self._iter = iter(()) if first is None else chain([first], self._items)

    def __iter__(self) -> Iterator[Any]:
        return self._iter

    def __next__(self) -> Any:
        return next(self._iter)

    def close(self) -> None:
        self._items.close()


async def replay(
    args: argparse.Namespace,
    settings: Settings,
    *,
    sink_factory: Callable[[str], Awaitable[tuple[Sink, Callable[[], Awaitable[None]]]]]
    | None = None,
) -> Summary:
    """The whole command: check inputs, create topics, connect, send, flush."""
    started = time.monotonic()
    # Millions of short-lived tuples: the default gen-0 threshold (700) makes the cyclic GC
    # run thousands of times for nothing (~10% of a fast replay); nothing here makes cycles.
    thresholds = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        return await _replay(args, settings, sink_factory, started)
    finally:
        gc.set_threshold(*thresholds)


async def _replay(
    args: argparse.Namespace, settings: Settings, sink_factory: Any, started: float
) -> Summary:
    polls_items = None
    if args.polls and not args.follow:
        polls_items = _Polls(args.polls)
    readers = (("hours", iter_hours), ("timezones", iter_timezones),
               ("special_hours", iter_special_hours))
    for name, reader in readers:
        path = getattr(args, name, None)
        if path:
            next(reader(path), None)  # header check before connecting (small files)

    make_sink = sink_factory or _kafka_sink_factory(args.producer_mode)
    try:
        sink, close = await make_sink(settings.bootstrap)
    except BaseException:
        if polls_items is not None:
            polls_items.close()  # stops the gzip reader thread
        raise
    replayer = Replayer(
        sink, Topics.from_settings(settings), chunk_rows=args.chunk_rows, limit=args.limit
    )
    loop = asyncio.get_running_loop()
    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, replayer.stop)
            handled.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            pass
    try:
        # Each file in Kafka before the next is parsed (the worker applies the zones while
        # the hours are parsed); zones and hours land before the first poll.
        if args.timezones:
            await replayer.send_timezones(args.timezones)
            await sink.flush()
        if args.hours:
            await replayer.send_hours(args.hours)
            await sink.flush()
        if getattr(args, "special_hours", None):
            await replayer.send_special_hours(args.special_hours)
            await sink.flush()
        if args.follow:
            await replayer.follow_polls(args.polls, idle_exit=args.idle_exit)
        elif polls_items is not None:
            if args.speed is not None:
                await replayer.send_polls_paced(polls_items, args.speed, SPEED_TICK)
            else:
                total = estimate_rows(args.polls)
                await replayer.send_polls_fast(polls_items, total)
        await sink.flush()
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
        if polls_items is not None:
            polls_items.close()
        await close()
    # Ctrl-C is how --follow normally ends; elsewhere it cuts the replay short.
    replayer.summary.interrupted = replayer.signalled and not args.follow
    replayer.summary.seconds = time.monotonic() - started
    return replayer.summary

def _kafka_sink_factory(mode: str):
    async def factory(bootstrap: str):
        from producers.kafka_io import KafkaSink, ensure_topics, replay_topics, start_producer
        from streamproc import config

        settings = config.load()
        for warning in await ensure_topics(bootstrap, replay_topics(settings)):
            print(f"{PROG}: warning: {warning}", file=sys.stderr)
        producer = await start_producer(bootstrap)
        return KafkaSink(producer, mode), producer.stop

    return factory
