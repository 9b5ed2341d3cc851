"""One store's state as a few bounded rows instead of one blob (issue 24, docs/architecture.md,
"State that scales with history").

Why: the blob (``StoreState.to_bytes``) holds every kept poll, so each batch that touches a
store rewrote its whole history to RocksDB and the changelog (26 KB per minute poll with two
days kept, measured by ``streamproc bench``). Here a batch rewrites only the store's *tail*
(the polls not yet sealed, at most :data:`TAIL_LIMIT`); sealing moves the tail into one row
per UTC day. No write depends on how many days are kept.

Keys are ``<store_id>/p`` (profile: zone and hours), ``<store_id>/d<day>`` and
``<store_id>/t``; ``/`` cannot occur in a store id (``records.STORE_ID_PATTERN``), so a key
without it is today's blob (read for the upgrade).

Pure: no I/O; the worker's StateCache decides when to read and write these rows.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable, Mapping, Sequence

from streamproc.core.records import US_PER_DAY
from streamproc.core.state import StoreState

Poll = tuple[int, bool]  # (ts_us, active)
Write = tuple[bytes, bytes | None]  # (key, value); None deletes the row (a tombstone)

SEP = b"/"
PROFILE, DAY, TAIL = b"p", b"d", b"t"
TAIL_LIMIT = 64  # polls in the tail before it is sealed (docs/architecture.md: the estimates)
_DAY_ITEM = 5  # bytes per poll in a day row: (µs since the day's start) << 1 | active
TAIL_ITEM_BYTES = 8  # a tail row: ts << 1 | active per poll (little-endian, signed)


# ------------------------------------------------------------------------------ keys


def profile_key(store_id: str) -> bytes:
    return store_id.encode() + SEP + PROFILE


def tail_key(store_id: str) -> bytes:
    return store_id.encode() + SEP + TAIL


def day_key(store_id: str, day: int) -> bytes:
    """Big-endian day number, so that a store's day rows sort by day in RocksDB."""
    return store_id.encode() + SEP + DAY + day.to_bytes(2, "big")


def store_prefix(store_id: str) -> bytes:
    return store_id.encode() + SEP


def split_key(key: bytes) -> tuple[str, bytes]:
    """(store id, row suffix); the suffix is empty for a key of today's one-blob format."""
    store, sep, suffix = key.partition(SEP)
    return store.decode(), suffix if sep else b""


def day_of(ts_us: int) -> int:
    """The UTC day number of a timestamp (floor, also before 1970)."""
    return ts_us // US_PER_DAY


# ------------------------------------------------------------------------------ values


def encode_day(day: int, polls: Iterable[Poll]) -> bytes:
    """A day row: the day's polls, 5 bytes each, in the order given (callers sort them)."""
    pairs = list(polls)
    return encode_day_columns(day, [ts for ts, _ in pairs], [1 if up else 0 for _, up in pairs])


def encode_day_columns(day: int, ts: Sequence[int], up: Sequence[int]) -> bytes:
    """:func:`encode_day` of polls given as columns (``StoreState.poll_columns``): a day row
    is rewritten on every seal, and building a tuple per poll first cost as much again."""
    start = day * US_PER_DAY
    packed = [((t - start) << 1) | u for t, u in zip(ts, up, strict=True)]
    if packed and (min(packed) < 0 or max(packed) >= 2 * US_PER_DAY):
        bad = next(t for t in ts if not 0 <= t - start < US_PER_DAY)
        raise ValueError(f"poll {bad} is not in day {day}")
    return b"".join([p.to_bytes(_DAY_ITEM, "little") for p in packed])


def decode_day(day: int, data: bytes) -> list[Poll]:
    start = day * US_PER_DAY
    n = len(data) // _DAY_ITEM
    wide = bytearray(8 * n)  # the high 3 bytes stay 0: an offset is below 2**37
    for k in range(_DAY_ITEM):
        wide[k::8] = data[k::_DAY_ITEM]
    packed = array("q")
    packed.frombytes(wide)
    return [(start + (p >> 1), bool(p & 1)) for p in _little(packed)]


def encode_tail(polls: Iterable[Poll]) -> bytes:
    return _little(array("q", [(ts << 1) | (1 if up else 0) for ts, up in polls])).tobytes()


def decode_tail(data: bytes) -> list[Poll]:
    packed = array("q")
    packed.frombytes(data)
    return [(p >> 1, bool(p & 1)) for p in _little(packed)]


def _little(items: array) -> array:
    """The rows are little-endian; ``array`` is in the machine's order (swapped in place)."""
    if sys.byteorder != "little":
        items.byteswap()
    return items


# ------------------------------------------------------------------------------ merging


def merge(*groups: Iterable[Poll]) -> list[Poll]:
    """Sorted unique polls; on equal timestamps inactive wins (the rule of StoreState)."""
    merged: dict[int, bool] = {}
    for group in groups:
        for ts, up in group:
            merged[ts] = merged.get(ts, True) and up
    return sorted(merged.items())


def should_seal(tail: list[Poll]) -> bool:
    """Seal at :data:`TAIL_LIMIT` polls, whatever days they span.

    Why not also at a day boundary (the first rule): a backlog's batch holds polls of every
    day of the week, so that rule sealed nearly every batch and rewrote each day row ~6 times
    per store (the end-to-end bench: 1.7x the worker CPU of the one-blob state); the count
    alone bounds the tail just as well."""
    return len(tail) >= TAIL_LIMIT


def seal(days: Mapping[int, list[Poll]], tail: list[Poll]) -> dict[int, list[Poll]]:
    """The day rows the tail's polls change: each touched day, merged with the tail."""
    touched: dict[int, list[Poll]] = {}
    for ts, up in tail:
        touched.setdefault(day_of(ts), []).append((ts, up))
    return {day: merge(days.get(day, ()), polls) for day, polls in touched.items()}


def after_batch(days: Mapping[int, list[Poll]], tail: list[Poll],
                batch: list[Poll]) -> tuple[list[Poll], dict[int, list[Poll]]]:
    """(the new tail, the day rows to write) once ``batch`` arrived: the writes of one batch
    are the tail, or on a seal the touched days and an empty tail."""
    grown = tail + batch
    if should_seal(grown):
        return [], seal(days, grown)
    return grown, {}


def evict(days: Mapping[int, list[Poll]],
          cutoff_us: int) -> tuple[list[int], dict[int, list[Poll]]]:
    """(days to delete, days to rewrite) so that no poll older than ``cutoff_us`` is kept."""
    first_kept = day_of(cutoff_us)
    gone = sorted(day for day in days if day < first_kept)
    trimmed = {}
    if first_kept in days:
        kept = [p for p in days[first_kept] if p[0] >= cutoff_us]
        if len(kept) != len(days[first_kept]):
            trimmed[first_kept] = kept
    return gone, trimmed


def assemble(rows: Mapping[bytes, bytes]) -> tuple[bytes | None, list[Poll]]:
    """(profile value, every kept poll sorted) from one store's rows, keyed by suffix."""
    groups: list[list[Poll]] = []
    for suffix, value in rows.items():
        if suffix[:1] == DAY:
            groups.append(decode_day(int.from_bytes(suffix[1:], "big"), value))
        elif suffix == TAIL:
            groups.append(decode_tail(value))
    return rows.get(PROFILE), merge(*groups)


# ------------------------------------------------------------------------------ whole stores


def profile_value(state: StoreState) -> bytes:
    """The profile row: today's blob of the store without its polls (zone, hours, special
    hours, the format version), so that one decoder reads both."""
    bare = StoreState(state.store_id)
    bare.tz, bare.hours, bare.special = state.tz, state.hours, state.special
    return bare.to_bytes()


def state_from_rows(store_id: str, rows: Mapping[bytes, bytes]) -> StoreState:
    """The live state from one store's rows (keyed by suffix); the same object the blob of
    the same polls and profile gives."""
    profile, polls = assemble(rows)
    state = StoreState.from_bytes(store_id, profile) if profile else StoreState(store_id)
    if polls:
        state.add_polls(polls)
    return state


def upgrade_writes(state: StoreState) -> list[Write]:
    """The rows that replace a store's old one-blob key: profile, every day, an empty tail,
    and the old key deleted (last, so that a crash in between leaves both, never neither)."""
    sid = state.store_id
    writes: list[Write] = [(profile_key(sid), profile_value(state))]
    writes += [(day_key(sid, day), encode_day(day, polls))
               for day, polls in sorted(seal({}, state.polls()).items())]
    writes += [(tail_key(sid), b""), (sid.encode(), None)]
    return writes


def batch_writes(store_id: str, days: Mapping[int, list[Poll]], tail: list[Poll],
                 batch: list[Poll]) -> tuple[list[Poll], dict[int, list[Poll]], list[Write]]:
    """(new tail, changed days, the rows to write) for one batch of a store's polls: the
    tail alone, or on a seal the touched days and then the emptied tail (days first: a crash
    between them leaves polls in both, which the merge tolerates)."""
    new_tail, day_rows = after_batch(days, tail, batch)
    writes: list[Write] = [(day_key(store_id, day), encode_day(day, polls))
                           for day, polls in sorted(day_rows.items())]
    writes.append((tail_key(store_id), encode_tail(new_tail)))
    return new_tail, day_rows, writes
