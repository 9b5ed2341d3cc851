"""Packing the polls of many stores into few keyless messages, one partition at a time (pure).

When a batch touches many stores with a poll or two each (a live fleet, public events), one
message per store would cost the worker one Kafka message each. A *packed* message
(``wire.encode_packed_polls``) carries many stores of one partition instead; it is sent to that
partition explicitly (no key), so the stores still meet their state there. Used by the replay's
live modes and by the worker's re-keying of public events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

from streamproc.core import wire

# Polls per message: ~21 bytes each in JSON, so a message stays well under Kafka's default
# 1 MB limit (and under wire.MAX_POLLS_PER_MESSAGE, which the worker enforces).
MAX_POLLS_PER_MESSAGE = min(16_000, wire.MAX_POLLS_PER_MESSAGE)
# A packed message's JSON size stays under this (Kafka's default limit is 1 MB).
MAX_PACKED_BYTES = 800_000
_POLL_BYTES = 24  # a poll's share of a packed message: "1679...,": 17 + "1,": 2, rounded up
_STORE_BYTES = 20  # per store: quotes, {"t":[],"a":[]}

Groups = Mapping[str, Sequence[tuple[int, bool]]]


def packed_messages(
    groups: Groups,
    home: Callable[[str], int],
    max_polls: int = MAX_POLLS_PER_MESSAGE,
    max_bytes: int = MAX_PACKED_BYTES,
) -> Iterator[tuple[int, bytes, int]]:
    """``(partition, value, number of polls)``: the stores of each partition (``home(store)``)
    packed into as few keyless messages as the limits allow (a store with more polls than
    `max_polls` is split over several)."""
    if max_polls < 1:
        raise ValueError("max_polls must be at least 1")
    by_partition: dict[int, list[str]] = {}
    for store_id in groups:
        by_partition.setdefault(home(store_id), []).append(store_id)
    for partition, store_ids in sorted(by_partition.items()):
        for value, n in _packs(groups, store_ids, max_polls, max_bytes):
            yield partition, value, n


def _packs(groups: Groups, store_ids: list[str], max_polls: int,
           max_bytes: int) -> Iterator[tuple[bytes, int]]:
    pack: dict[str, Sequence[tuple[int, bool]]] = {}
    polls_in = size = 0
    for store_id in store_ids:
        polls = groups[store_id]
        for i in range(0, len(polls), max_polls):
            part = polls[i : i + max_polls]
            cost = len(store_id) + _STORE_BYTES + _POLL_BYTES * len(part)
            if pack and (polls_in + len(part) > max_polls or size + cost > max_bytes
                         or store_id in pack):
                yield wire.encode_packed_polls(pack), polls_in
                pack, polls_in, size = {}, 0, 0
            pack[store_id] = part
            polls_in += len(part)
            size += cost
    if pack:
        yield wire.encode_packed_polls(pack), polls_in
