"""The live cache in front of the durable table."""

from __future__ import annotations

from streamproc.core.state import StoreState
from streamproc.worker.statestore import StateCache, WriteBehind


def test_a_lookup_of_an_unknown_store_is_not_a_store():
    table: dict[str, bytes] = {}
    cache = StateCache(table)
    known = StoreState("1")
    known.add_polls([(1_700_000_000_000_000, True)])
    cache.save(known)
    cache.get("ghost")  # e.g. GET /stores/ghost
    assert cache.store_ids() == ["1"]
    assert "ghost" not in table


def test_a_lookup_before_a_restore_does_not_hide_the_restored_state():
    """A report evaluated across a rebalance looks up a store whose partition is still
    being restored; the writer that applies the store's next poll must see the restored
    state, not the empty one the lookup found (it would save the store without its past)."""
    table: dict[str, bytes] = {}
    cache = StateCache(table)
    assert cache.get("s1").first_poll_us is None  # not here yet: an empty state
    restored = StoreState("s1")
    restored.add_polls([(1_700_000_000_000_000, True)])
    table["s1"] = restored.to_bytes()  # the changelog restores it
    writer_view = cache.get("s1", partition=0)
    assert writer_view.first_poll_us == 1_700_000_000_000_000
    assert cache.store_ids() == ["s1"]


def test_a_writer_rereads_a_state_a_lookup_loaded_from_an_older_copy():
    """A lookup during a rebalance may load a standby's older copy; the writer reads its
    own partition's row once, and lookups then see what the writer sees."""
    table: dict[str, bytes] = {}
    cache = StateCache(table)
    old = StoreState("s1")
    old.add_polls([(1_700_000_000_000_000, True)])
    table["s1"] = old.to_bytes()
    cache.store_ids()  # a report loads every store
    newer = StoreState("s1")
    newer.add_polls([(1_700_000_000_000_000, True), (1_700_000_360_000_000, False)])
    table["s1"] = newer.to_bytes()  # the restore brings the store up to date
    assert cache.get("s1", partition=0).poll_count == 2
    assert cache.get("s1") is cache.get("s1", partition=0)


def test_a_cold_cache_loads_every_stored_store_once():
    table: dict[str, bytes] = {}
    first = StateCache(table)
    for sid in ("a", "b", "c"):
        state = first.get(sid)
        state.set_timezone("Europe/Berlin")
        first.save(state)
    cold = StateCache(table)
    assert sorted(cold.store_ids()) == ["a", "b", "c"]
    assert cold.get("b").tz == "Europe/Berlin"
    table["d"] = StoreState("d").to_bytes()  # written behind the cache's back
    assert "d" not in cold.store_ids()  # served from memory once loaded...
    cold.clear()  # ...until a rebalance clears it
    assert "d" in cold.store_ids()


class _Partitions:
    """An in-memory PartitionWriter: rows per partition (the worker's is RocksDB + Kafka)."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[bytes, bytes]] = {}

    def get(self, partition: int, key: bytes) -> bytes | None:
        return self.rows.get(partition, {}).get(key)

    def put(self, partition: int, key: bytes, value: bytes) -> None:
        self.rows.setdefault(partition, {})[key] = value

    def delete(self, partition: int, key: bytes) -> None:
        self.rows.get(partition, {}).pop(key, None)

    def scan(self, partition: int | None, prefix: bytes) -> list[tuple[bytes, bytes]]:
        for part in ([partition] if partition is not None else sorted(self.rows)):
            found = sorted((k, v) for k, v in self.rows.get(part, {}).items()
                           if k.startswith(prefix))
            if found:
                return found
        return []


def test_a_save_with_its_partition_goes_to_that_partition_only():
    table: dict[str, bytes] = {}
    parts = _Partitions()
    cache = StateCache(table, parts)
    state = cache.get("s1", 3)
    state.set_timezone("Asia/Tokyo")
    cache.save(state, 3)
    assert table == {}
    assert list(parts.rows) == [3]
    assert StoreState.from_bytes("s1", parts.rows[3][b"s1/p"]).tz == "Asia/Tokyo"
    assert cache.store_ids() == ["s1"]  # saved, so a store (not a phantom lookup)
    assert StateCache(table, parts).get("s1", 3).tz == "Asia/Tokyo"  # a cold read asks it
    assert StateCache(table, parts).get("s1", 2).tz is None  # ...and only that partition
    assert StateCache(table, parts).get("s1").tz == "Asia/Tokyo"  # a lookup finds it too


def test_write_behind_keeps_the_last_value_of_each_key_per_partition():
    held = WriteBehind()
    held.add(0, b"a", b"1")
    held.add(1, b"a", b"x")
    held.add(0, b"b", b"2")
    held.add(0, b"a", b"3")  # the store written again in the same batch: sent once
    assert len(held) == 3
    rows = held.take()
    assert rows == {0: {b"b": b"2", b"a": b"3"}, 1: {b"a": b"x"}}
    assert list(rows[0]) == [b"b", b"a"]  # in the order of the last writes
    assert len(held) == 0 and held.take() == {}


def test_write_behind_drops_the_rows_of_partitions_gone() -> None:
    held = WriteBehind()
    held.add(0, b"a", b"1")
    held.add(1, b"b", b"1")
    held.add(1, b"c", b"1")
    assert held.holds(1, b"b") and not held.holds(0, b"b")
    assert held.drop(lambda partition: partition == 1) == 2
    assert held.take() == {0: {b"a": b"1"}}
