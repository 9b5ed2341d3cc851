"""Applying Kafka messages to per-store state, free of Faust so it can be tested directly.

The Faust agents hand batches of :class:`Incoming` messages to a :class:`Processor`; it
validates them (bad ones go to the dead-letter callback), groups polls per store, patches
the live states and saves each changed store once per batch.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field

from streamproc.core import wire
from streamproc.core.records import US_PER_DAY, Rejection
from streamproc.core.state import HORIZON_US, StoreState
from streamproc.kafka.partitioning import partition_of
from streamproc.worker.statestore import StateCache

# Keep a day more than the contract needs so an ``as_of`` up to a day back is still exact.
DEFAULT_RETENTION_US = HORIZON_US + US_PER_DAY
EVICT_SLACK_US = 6 * 3600 * 1_000_000  # evict in steps, not on every poll


@dataclass(frozen=True, slots=True)
class Incoming:
    """One consumed message, without the transport."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class Watermarks:
    """Event-time ``now``: the largest poll timestamp per partition, max over partitions.

    ``table`` is shared by all workers (a Faust GlobalTable) so every report uses one ``now``.
    Reading it scans every partition's value, so ``now()`` re-reads it at most once a second
    and otherwise answers from memory (our own partitions update the memory at once).
    """

    REFRESH_S = 1.0

    def __init__(self, table: MutableMapping[str, int], clock=time.monotonic,
                 shared: Callable[[], int | None] | None = None,
                 write: Callable[[int, str, int], None] | None = None) -> None:
        self.table = table
        self.shared = shared  # the cluster's watermark as other workers wrote it, if known
        # (partition, key, value): the worker's write to that partition (the table itself
        # would need Faust's "current event" to know it); None writes to ``table``.
        self.write = write
        self._clock = clock
        self._now: int | None = None
        self._read_at = float("-inf")

    def observe(self, msg: Incoming, ts_us: int) -> bool:
        """Raise the watermark of ``msg``'s partition to ``ts_us`` if it is newer."""
        key = str(msg.partition)
        if ts_us > (self.table.get(key) or 0):
            if self.write is not None:
                self.write(msg.partition, key, ts_us)
            else:
                self.table[key] = ts_us
            if self._now is None or ts_us > self._now:
                self._now = ts_us
            return True
        return False

    def now(self) -> int | None:
        if self._clock() - self._read_at >= self.REFRESH_S:
            self.refresh()
        return self._now

    def refresh(self) -> int | None:
        """Re-read every partition's watermark (other workers', after a rebalance)."""
        self._read_at = self._clock()
        values = [v for v in self.table.values() if v]
        if self.shared is not None and self.shared() is not None:
            values.append(self.shared())
        if values:
            top = max(values)
            if self._now is None or top > self._now:
                self._now = top
        return self._now


@dataclass
class Stats:
    """Counters for /metrics and the logs."""

    messages: Counter = field(default_factory=Counter)  # per topic
    polls: int = 0
    rejected: Counter = field(default_factory=Counter)  # per reason kind
    late_dropped: int = 0
    saves: int = 0


SaveFn = Callable[[StoreState, Incoming], None]


@dataclass
class PollPlan:
    """A batch of polls decoded and grouped by store (:meth:`Processor.plan_polls`)."""

    messages: list[Incoming]
    groups: list[tuple[str, Incoming, list[tuple[int, bool]]]] = field(default_factory=list)
    newest: dict[int, tuple[int, Incoming]] = field(default_factory=dict)  # per partition
    now: int | None = None
    cutoff: int | None = None
    polls: int = 0  # counted as applied once the plan is finished, not when it is decoded


DeadLetterFn = Callable[[Rejection], None]
StatusFn = Callable[[StoreState, "tuple[int, bool] | None", "tuple[int, bool] | None"], None]


class Processor:
    """The stream's business logic; see the module docstring."""

    def __init__(
        self,
        cache: StateCache,
        watermarks: Watermarks,
        dead_letter: DeadLetterFn,
        retention_us: int = DEFAULT_RETENTION_US,
        on_status: StatusFn | None = None,
        partitions: int | None = None,
    ) -> None:
        self.cache = cache
        self.watermarks = watermarks
        self.dead_letter = dead_letter
        self.retention_us = retention_us
        self.on_status = on_status
        self.partitions = partitions  # when set, a store must arrive on its own partition
        self.stats = Stats()
        self.processed: dict[tuple[str, int], int] = {}  # next offset per (topic, partition)

    # -- polls ---------------------------------------------------------------------------

    def apply_polls(self, messages: Iterable[Incoming], save: SaveFn) -> int:
        """Apply a batch at once; return the number of stores written."""
        plan = self.plan_polls(messages)
        written = self.apply_groups(plan, plan.groups, save)
        self.finish_polls(plan)
        return written

    def plan_polls(self, messages: Iterable[Incoming]) -> PollPlan:
        """Decode and group a batch by store (bad polls rejected); nothing applied yet.

        The worker applies the groups in slices, the event loop free between them (one
        packed message can hold 16,000 polls), and only then marks the messages processed
        and raises the watermark (:meth:`finish_polls`): a report or snapshot between two
        slices sees the batch as not yet applied, never a watermark ahead of its polls."""
        plan = PollPlan(list(messages))
        groups: dict[str, tuple[Incoming, list[tuple[int, bool]]]] = {}
        for msg in plan.messages:
            for store_id, polls in self._poll_groups(msg):
                plan.polls += len(polls)
                if polls:
                    top = max(ts for ts, _ in polls)
                    if top > plan.newest.get(msg.partition, (0, msg))[0]:
                        plan.newest[msg.partition] = (top, msg)
                entry = groups.get(store_id)
                if entry is None:
                    groups[store_id] = (msg, list(polls))
                else:
                    entry[1].extend(polls)
                    groups[store_id] = (msg, entry[1])
        plan.groups = [(store_id, msg, polls) for store_id, (msg, polls) in groups.items()]
        now = self.watermarks.now()
        for ts, _ in plan.newest.values():
            now = ts if now is None else max(now, ts)
        plan.now = now  # the watermark once the batch is applied
        plan.cutoff = None if now is None else now - self.retention_us
        return plan

    def apply_groups(self, plan: PollPlan, groups: Iterable[tuple[str, Incoming, list]],
                     save: SaveFn) -> int:
        """Apply some of a plan's store groups; return the number of stores written."""
        now, cutoff, written = plan.now, plan.cutoff, 0
        for store_id, msg, polls in groups:
            state = self.cache.get(store_id, msg.partition)
            before = self._latest(state, now)
            if cutoff is not None:
                kept = [p for p in polls if p[0] >= cutoff]
                self.stats.late_dropped += len(polls) - len(kept)
                polls = kept
            changed = self.cache.add_polls(state, polls)
            first = state.first_poll_us
            if cutoff is not None and first is not None and first < cutoff - EVICT_SLACK_US:
                changed = state.evict_before(cutoff) or changed
            if changed or self.cache.must_save(store_id):
                save(state, msg)
                written += 1
            if self.on_status is not None:
                after = self._latest(state, now)
                if before != after:
                    self.on_status(state, before, after)
        self.stats.saves += written
        return written

    def finish_polls(self, plan: PollPlan) -> None:
        """The plan's messages processed, its polls counted as applied (``/health``'s
        ``polls_applied``: a script that waits for it may read a snapshot at once), and its
        partitions' watermarks raised."""
        self.stats.polls += plan.polls
        for msg in plan.messages:
            self.mark(msg)
        for ts, msg in plan.newest.values():
            self.watermarks.observe(msg, ts)

    def _poll_groups(self, msg: Incoming) -> list[tuple[str, list[tuple[int, int]]]]:
        """``(store id, polls)`` of a keyed or packed message; what is bad is rejected."""
        try:
            if msg.key is None:
                good, bad = wire.decode_packed_polls(msg.value)
            else:
                good, bad = [(wire.decode_key(msg.key), wire.decode_polls(msg.value))], []
        except wire.WireError as exc:
            self.reject(msg, str(exc))
            return []
        placed = []
        for store_id, polls in good:
            wrong = self._misplaced(store_id, msg)
            if wrong:
                bad.append(wrong)
            else:
                placed.append((store_id, polls))
        for reason in bad:
            self.reject(msg, reason)
        return placed

    def _misplaced(self, store_id: str, msg: Incoming) -> str | None:
        """A store's state lives in one partition: refuse it anywhere else (a hand-written
        message could put it there, and the store would then be split in two)."""
        if self.partitions is None:
            return None
        home = partition_of(store_id, self.partitions)
        if home == msg.partition:
            return None
        return f"store {store_id} belongs to partition {home}, not {msg.partition}"

    # -- hours and zones -----------------------------------------------------------------

    def apply_hours(self, msg: Incoming, save: SaveFn) -> None:
        self._apply_profile(msg, save, wire.decode_hours, StoreState.set_hours)

    def apply_special(self, msg: Incoming, save: SaveFn) -> None:
        """Special hours: the message carries all of a store's special dates (an upsert)."""
        self._apply_profile(msg, save, wire.decode_special, StoreState.set_special)

    def apply_timezone(self, msg: Incoming, save: SaveFn) -> None:
        decode = lambda value: None if value is None else wire.decode_timezone(value)  # noqa: E731
        self._apply_profile(msg, save, decode, StoreState.set_timezone)

    def _apply_profile(self, msg: Incoming, save: SaveFn, decode, setter) -> None:
        """Hours or zone: replace the store's whole value (compacted topics are upserts)."""
        self.mark(msg)
        try:
            store_id = wire.decode_key(msg.key)
            value = decode(msg.value)
        except wire.WireError as exc:
            self.reject(msg, str(exc))
            return
        wrong = self._misplaced(store_id, msg)
        if wrong:
            self.reject(msg, wrong)
            return
        state = self.cache.get(store_id, msg.partition)
        if setter(state, value) or self.cache.must_save(store_id):
            save(state, msg)
            self.stats.saves += 1

    # -- helpers -------------------------------------------------------------------------

    def _latest(self, state: StoreState, now: int | None) -> tuple[int, bool] | None:
        return None if now is None else state.latest_observation(now)

    def mark(self, msg: Incoming) -> None:
        """Count ``msg`` and record its offset as processed."""
        self.stats.messages[msg.topic] += 1
        key = (msg.topic, msg.partition)
        if msg.offset + 1 > self.processed.get(key, 0):
            self.processed[key] = msg.offset + 1

    def reject_record(self, rejection: Rejection) -> None:
        """Count and dead-letter a rejection that did not come from a topic (``POST
        /events``); counted under its source like a topic's."""
        self._count_rejection(rejection.source, rejection.reason)
        self.dead_letter(rejection)

    def count_rejection(self, rejection: Rejection) -> None:
        """Count a rejection without dead-lettering it (a body's dead letters beyond the
        first few are summed up in one: core/body_caps.py)."""
        self._count_rejection(rejection.source, rejection.reason)

    def _count_rejection(self, source: str, reason: str) -> None:
        kind = reason.split(":")[0].split(" ")[0] if reason else "unknown"
        self.stats.rejected[f"{source}:{kind}"] += 1

    def reject(self, msg: Incoming, reason: str) -> None:
        """Send ``msg`` to the dead-letter callback with ``reason`` and where it was read."""
        self._count_rejection(msg.topic, reason)
        raw = (msg.key or b"")[:100].decode("utf-8", "replace") + " => "
        raw += (msg.value or b"")[:400].decode("utf-8", "replace")
        where = f"{msg.topic}[{msg.partition}]@{msg.offset}"
        self.dead_letter(Rejection(msg.topic, msg.offset, raw, f"{where}: {reason}"))
