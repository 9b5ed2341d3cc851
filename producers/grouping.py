"""Pure helpers of the replay: grouping parsed rows into Kafka messages (no I/O).

Each function turns records (see docs/conventions.md) into ``(key, value)`` pairs in the
wire format of `streamproc.core.wire`: polls grouped per store, business hours as one full
set per store, time zones last-row-wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from streamproc.core import packing, wire
from streamproc.core.records import HoursRow, Poll, Rejection, TimezoneRow
from streamproc.kafka.partitioning import partition_of

MAX_POLLS_PER_MESSAGE = packing.MAX_POLLS_PER_MESSAGE
MAX_PACKED_BYTES = packing.MAX_PACKED_BYTES

Message = tuple[bytes, bytes | None]  # (key, value)


def split_items(
    items: Iterable[Poll | Rejection],
    groups: dict[str, list[tuple[int, bool]]] | None = None,
    rejections: list[Rejection] | None = None,
) -> tuple[dict[str, list[tuple[int, bool]]], list[Rejection], int]:
    """Records grouped per store (``store -> [(ts_us, active), ...]`` in arrival order) and the
    rejections, plus the number of items consumed. Pass `groups` / `rejections` to add to them.
    """
    groups = {} if groups is None else groups
    rejections = [] if rejections is None else rejections
    get = groups.get
    n = 0
    for item in items:
        n += 1
        if item.__class__ is tuple:  # a record (Rejection is a tuple *subclass*)
            store_id, ts_us, active = item  # type: ignore[misc]
            polls = get(store_id)
            if polls is None:
                groups[store_id] = [(ts_us, active)]
            else:
                polls.append((ts_us, active))
        else:
            rejections.append(item)  # type: ignore[arg-type]
    return groups, rejections, n


def group_polls(polls: Iterable[Poll]) -> dict[str, list[tuple[int, bool]]]:
    """``store -> [(ts_us, active), ...]`` keeping arrival order within a store."""
    groups, _rejections, _n = split_items(polls)
    return groups


def poll_messages(
    groups: dict[str, list[tuple[int, bool]]], max_per_message: int = MAX_POLLS_PER_MESSAGE
) -> Iterator[tuple[bytes, bytes, int]]:
    """``(key, value, number of polls)`` per store, a store with many polls split in pieces."""
    if max_per_message < 1:
        raise ValueError("max_per_message must be at least 1")
    encode = wire.encode_polls
    for store_id, polls in groups.items():
        key = store_id.encode()
        if len(polls) <= max_per_message:
            yield key, encode(polls), len(polls)
        else:
            for i in range(0, len(polls), max_per_message):
                part = polls[i : i + max_per_message]
                yield key, encode(part), len(part)


def packed_poll_messages(
    groups: dict[str, list[tuple[int, bool]]],
    partitions: int,
    max_polls: int = MAX_POLLS_PER_MESSAGE,
    max_bytes: int = MAX_PACKED_BYTES,
) -> Iterator[tuple[int, bytes, int]]:
    """``(partition, value, number of polls)``: `packing.packed_messages` over `partitions`."""
    return packing.packed_messages(groups, lambda s: partition_of(s, partitions), max_polls,
                                   max_bytes)


def group_hours(
    rows: Iterable[HoursRow], source: str = "hours", max_rows: int = wire.MAX_HOURS_ROWS
) -> tuple[dict[str, list[tuple[int, int, int]]], list[Rejection]]:
    """Each store's full set of ``(day, start_us, end_us)`` rows, exact duplicates dropped
    (they do not change the set of open intervals).

    The wire format allows `max_rows` rows per store; rows beyond that are rejected (line 0:
    the row's own line number is not known here) rather than silently dropped.
    """
    sets: dict[str, dict[tuple[int, int, int], None]] = {}
    for store_id, day, start, end in rows:
        sets.setdefault(store_id, {})[(day, start, end)] = None
    out: dict[str, list[tuple[int, int, int]]] = {}
    rejections: list[Rejection] = []
    for store_id, unique in sets.items():
        rows_of_store = list(unique)
        if len(rows_of_store) > max_rows:
            for day, start, end in rows_of_store[max_rows:]:
                reason = (
                    f"store {store_id} has {len(rows_of_store)} distinct business-hours rows; "
                    f"at most {max_rows} per store are sent"
                )
                rejections.append(Rejection(source, 0, f"{store_id},{day},{start},{end}", reason))
            rows_of_store = rows_of_store[:max_rows]
        out[store_id] = rows_of_store
    return out, rejections


def hours_messages(groups: dict[str, list[tuple[int, int, int]]]) -> Iterator[Message]:
    for store_id, rows in groups.items():
        yield store_id.encode(), wire.encode_hours(rows)


def special_messages(groups: dict[str, list[tuple[int, int, int]]]) -> Iterator[Message]:
    """One message per store with all its special dates (group them with `group_hours`)."""
    for store_id, rows in groups.items():
        yield store_id.encode(), wire.encode_special(rows)


def last_timezones(rows: Iterable[TimezoneRow]) -> dict[str, str]:
    """``store -> tz``, the last row of a store winning (an upsert, like the compacted topic)."""
    zones: dict[str, str] = {}
    for store_id, tz in rows:
        zones[store_id] = tz
    return zones


def timezone_messages(zones: dict[str, str]) -> Iterator[Message]:
    for store_id, tz in zones.items():
        yield store_id.encode(), wire.encode_timezone(tz)


def rejection_message(rejection: Rejection) -> Message:
    """Dead-letter message: key = the source name."""
    return rejection.source.encode(), wire.encode_rejection(rejection)


def sorted_by_time(polls: Sequence[Poll]) -> list[Poll]:
    """Polls in event-time order (stable: equal timestamps keep file order)."""
    return sorted(polls, key=lambda p: p[1])
