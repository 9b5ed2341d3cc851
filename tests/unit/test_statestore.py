"""The live cache in front of the durable table."""

from __future__ import annotations

from streamproc.core.state import StoreState
from streamproc.worker.statestore import StateCache


def test_a_lookup_of_an_unknown_store_is_not_a_store():
    table: dict[str, bytes] = {}
    cache = StateCache(table)
    known = StoreState("1")
    known.add_polls([(1_700_000_000_000_000, True)])
    cache.save(known)
    cache.get("ghost")  # e.g. GET /stores/ghost
    assert cache.store_ids() == ["1"]
    assert "ghost" not in table


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
