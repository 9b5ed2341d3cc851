"""Which rows one save of a live store writes (issue 24, docs/architecture.md, "State that
scales with history"): the decisions behind the worker's ``StateCache.save``.

Why a module of its own: ``state_rows`` is the layout (keys, values, the seal rule); this is
the bookkeeping of one store between two saves. The worker remembers only what it wrote
(:class:`Written`: the tail row, the profile, the range of day rows), not the store's polls a
second time: a day row is always rewritten from the live :class:`StoreState`, which holds
every kept poll, so sealing needs no read and memory grows by a tail per store, not by a
history.

Pure: no I/O; the cache applies the writes (``None`` is a delete, a changelog tombstone).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from streamproc.core.records import US_PER_DAY
from streamproc.core.state import StoreState
from streamproc.core.state_rows import (
    DAY,
    TAIL,
    TAIL_ITEM_BYTES,
    TAIL_LIMIT,
    Poll,
    Write,
    day_key,
    day_of,
    decode_tail,
    encode_day,
    encode_day_columns,
    encode_tail,
    profile_key,
    profile_value,
    should_seal,
    tail_key,
)

# Day rows before the first kept day that a full save deletes again: an eviction whose
# tombstones RocksDB applied but the changelog never got (a crash in between) is repaired
# by the next start's full save. Eviction runs in 6-hour steps, so it spans a day or two.
CRASH_DAYS = 2

Profile = tuple[object, object, object]  # (tz, hours, special) the profile row holds


@dataclass(slots=True)
class Written:
    """What one store's rows hold, as far as this worker wrote or read them."""

    tail: bytes = b""  # the tail row's value
    profile: Profile = (None, None, None)
    low_day: int | None = None  # the lowest day that may have a row
    high_day: int | None = None  # the highest
    first_us: int | None = None  # the state's first poll when last saved (eviction moves it)


# What a store new to the table "has written": nothing, and a profile no state has, so that
# its first save writes the profile row (the store exists from then on, polls or not).
NEW_STORE = Written(profile=("new",))


def profile_of(state: StoreState) -> Profile:
    return (state.tz, state.hours, state.special)


def written_from_rows(state: StoreState, rows: Mapping[bytes, bytes]) -> Written:
    """What a store read from its rows (keyed by suffix) holds; ``state`` was built from them."""
    days = [int.from_bytes(suffix[1:], "big") for suffix in rows if suffix[:1] == DAY]
    return Written(rows.get(TAIL, b""), profile_of(state), min(days, default=None),
                   max(days, default=None), state.first_poll_us)


def full_writes(state: StoreState, known: Written | None) -> tuple[Written, list[Write]]:
    """Every row of the store, the tail sealed into its days, and deletes of the old
    one-blob key and of day rows before the first kept day.

    The first save after a start or rebalance writes this: the changelog may lack rows or
    tombstones that RocksDB has (a worker stopped between the two), and input read again
    changes nothing locally, so without a full write a takeover would restore the store
    without them. It is also the upgrade from the blob (the old key's tombstone)."""
    sid = state.store_id
    days = polls_by_day(state.polls())
    writes: list[Write] = [(profile_key(sid), profile_value(state))]
    writes += [(day_key(sid, day), encode_day(day, polls)) for day, polls in sorted(days.items())]
    writes.append((tail_key(sid), b""))
    writes += [(day_key(sid, day), None) for day in _stale_days(days, known)]
    writes.append((sid.encode(), None))
    low, high = (min(days), max(days)) if days else (None, None)
    return Written(b"", profile_of(state), low, high, state.first_poll_us), writes


def _stale_days(days: Mapping[int, list[Poll]], known: Written | None) -> range:
    """Days whose rows a full save deletes: before the first kept day (or all known ones)."""
    if not days:
        if known is None or known.low_day is None or known.high_day is None:
            return range(0)
        return range(known.low_day, known.high_day + 1)
    first = min(days)
    low = first - CRASH_DAYS
    if known is not None and known.low_day is not None:
        low = min(low, known.low_day)
    return range(low, first)


def save_writes(state: StoreState, known: Written,
                pending: list[Poll]) -> tuple[Written, list[Write]]:
    """The rows one save writes after ``pending`` polls arrived since the last one: the
    profile if it changed, the tail with the new polls (or, on a seal, the touched days and
    the emptied tail), and eviction's deletes and trimmed first day. No write depends on
    how many days are kept."""
    sid = state.store_id
    writes: list[Write] = []
    if profile_of(state) != known.profile:
        writes.append((profile_key(sid), profile_value(state)))
    new_tail = _appended_tail(state, known, pending)
    low, high, gone = known.low_day, known.high_day, range(0)
    if new_tail is None:
        new_tail, gone, low, high = _rewritten(state, known, pending, writes)
    if new_tail != known.tail:
        writes.append((tail_key(sid), new_tail))
    writes += [(day_key(sid, day), None) for day in gone]
    return Written(new_tail, profile_of(state), low, high, state.first_poll_us), writes


def _appended_tail(state: StoreState, known: Written, pending: list[Poll]) -> bytes | None:
    """The new tail row of the common save, the same bytes as :func:`_rewritten`'s: no
    eviction since the last save and no seal, so the new polls are appended to the tail's
    bytes without decoding them (a live store's tail was decoded and encoded again on every
    save, up to 64 polls each time). None when that is not the case."""
    first = state.first_poll_us
    if first is None or (known.first_us is not None and first > known.first_us):
        return None  # evicted since the last save: the tail must be filtered
    added = [p for p in pending if p[0] >= first]  # the known tail is all >= first already
    if len(known.tail) // TAIL_ITEM_BYTES + len(added) >= TAIL_LIMIT:
        return None  # sealed
    return known.tail + encode_tail(added)


def _rewritten(state: StoreState, known: Written, pending: list[Poll], writes: list[Write],
               ) -> tuple[bytes, range, int | None, int | None]:
    """(new tail row, days to delete, low day, high day) of a save that evicts or seals; the
    day rows it rewrites are appended to ``writes``."""
    sid = state.store_id
    tail = decode_tail(known.tail) + pending
    tail, rewrite, gone, low, high = _evict(state, known, tail)
    if should_seal(tail):
        rewrite |= {day_of(ts) for ts, _ in tail}
        tail = []
    for day in sorted(rewrite):
        ts, up = state.poll_columns(day * US_PER_DAY, (day + 1) * US_PER_DAY)
        writes.append((day_key(sid, day), encode_day_columns(day, ts, up) if ts else None))
        if ts:
            low = day if low is None else min(low, day)
            high = day if high is None else max(high, day)
    return encode_tail(tail), gone, low, high


def _evict(state: StoreState, known: Written, tail: list[Poll],
           ) -> tuple[list[Poll], set[int], range, int | None, int | None]:
    """(tail, days to rewrite, days to delete, low day, high day) once the state forgot
    polls older than its first one (``evict_before`` only ever moves the first poll later)."""
    first, low, high = state.first_poll_us, known.low_day, known.high_day
    # a poll of this batch may be older than the first kept one already (added, then
    # evicted before this save): the tail keeps nothing the state does not
    kept = [] if first is None else [p for p in tail if p[0] >= first]
    if first is not None and (known.first_us is None or first <= known.first_us):
        return kept, set(), range(0), low, high
    if low is None or high is None:
        return kept, set(), range(0), low, high
    if first is None or day_of(first) > high:
        return kept, set(), range(low, high + 1), None, None
    new_low = day_of(first)
    return kept, {new_low}, range(low, new_low), new_low, high


def polls_by_day(polls: list[Poll]) -> dict[int, list[Poll]]:
    """Sorted polls grouped into their UTC days (each group stays sorted)."""
    days: dict[int, list[Poll]] = {}
    for ts, up in polls:
        days.setdefault(day_of(ts), []).append((ts, up))
    return days


__all__ = ["CRASH_DAYS", "NEW_STORE", "Written", "full_writes", "polls_by_day", "profile_of",
           "save_writes", "written_from_rows"]
