"""Which partition a store lives in: Kafka's default partitioner on its id.

A store's polls, hours, time zone and state must meet in one partition. Keyed messages get
there by the producer's default partitioner; packed messages (many stores, no key) are sent
to an explicit partition, so producers and the worker compute it here, the same way.
"""

from __future__ import annotations

from aiokafka.partitioner import murmur2

_CACHE_LIMIT = 1_000_000
_cache: dict[tuple[bytes, int], int] = {}


def partition_of_key(key: bytes, partitions: int) -> int:
    """Kafka's default partitioner for a keyed message (murmur2, as the Java client)."""
    found = _cache.get((key, partitions))
    if found is None:
        found = (murmur2(key) & 0x7FFFFFFF) % partitions
        if len(_cache) >= _CACHE_LIMIT:
            _cache.clear()
        _cache[(key, partitions)] = found
    return found


def partition_of(store_id: str, partitions: int) -> int:
    return partition_of_key(store_id.encode(), partitions)
