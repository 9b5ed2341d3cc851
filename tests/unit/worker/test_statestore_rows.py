"""StateCache through a writer keeps a store as rows (issue 24): profile, day rows, tail.

What must hold: the state rebuilt from the rows (on this worker after a restart, or on
another after a takeover that restores the changelog) is the live state; a save writes what
the batch brought, not the history; eviction deletes rows through the changelog; a store in
today's one-blob key is read and replaced by rows on its first save.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamproc.core import state_rows
from streamproc.core.records import US_PER_DAY, US_PER_HOUR
from streamproc.core.state import StoreState
from streamproc.worker.statestore import StateCache

T0 = 1_674_000_000_000_000  # 2023-01-18 00:00 UTC
NOW = T0 + 12 * US_PER_DAY


class _Rows:
    """An in-memory PartitionWriter (the RocksDB of each partition) that also keeps the
    changelog as a takeover restores it: the last value of each key, a tombstone deleting."""

    def __init__(self) -> None:
        self.local: dict[int, dict[bytes, bytes]] = {}
        self.changelog: dict[int, dict[bytes, bytes]] = {}
        self.writes: list[tuple[bytes, bytes | None]] = []

    def get(self, partition: int, key: bytes) -> bytes | None:
        return self.local.get(partition, {}).get(key)

    def put(self, partition: int, key: bytes, value: bytes) -> None:
        self.local.setdefault(partition, {})[key] = value
        self.changelog.setdefault(partition, {})[key] = value
        self.writes.append((key, value))

    def delete(self, partition: int, key: bytes) -> None:
        self.local.get(partition, {}).pop(key, None)
        self.changelog.get(partition, {}).pop(key, None)
        self.writes.append((key, None))

    def scan(self, partition: int | None, prefix: bytes) -> list[tuple[bytes, bytes]]:
        for part in [partition] if partition is not None else sorted(self.local):
            found = sorted((k, v) for k, v in self.local.get(part, {}).items()
                           if k.startswith(prefix))
            if found:
                return found
        return []

    def restored(self) -> _Rows:
        """Another worker's RocksDB after it restored the changelog (a takeover)."""
        other = _Rows()
        other.local = {p: dict(rows) for p, rows in self.changelog.items()}
        other.changelog = {p: dict(rows) for p, rows in self.changelog.items()}
        return other


def _profiled(state: StoreState) -> StoreState:
    state.set_timezone("America/Chicago")
    state.set_hours([(d, 9 * US_PER_HOUR, 21 * US_PER_HOUR) for d in range(6)])
    return state


def _same(a: StoreState, b: StoreState) -> None:
    assert a.polls() == b.polls()
    assert (a.tz, a.hours, a.special) == (b.tz, b.hours, b.special)
    assert a.values(NOW) == b.values(NOW)
    hours = NOW // US_PER_HOUR
    assert a.hourly(hours - 24 * 9, hours, NOW) == b.hourly(hours - 24 * 9, hours, NOW)


step_st = st.tuples(
    st.lists(st.tuples(st.integers(T0, NOW - 1), st.booleans()), max_size=40),
    st.one_of(st.none(), st.integers(T0, NOW)),  # an eviction cutoff
    st.booleans(),  # a restart (or rebalance) after the save
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(step_st, min_size=1, max_size=15))
def test_rows_rebuild_the_live_state_after_a_restart_and_a_takeover(steps) -> None:
    rows = _Rows()
    cache = StateCache({}, rows)
    direct = _profiled(StoreState("s1"))
    cutoff = T0
    for polls, evict_at, restart in steps:
        state = cache.get("s1", 0)
        if not state.hours:
            _profiled(state)
        kept = [p for p in polls if p[0] >= cutoff]  # as the Processor drops late polls
        cache.add_polls(state, kept)
        direct.add_polls(kept)
        if evict_at is not None and evict_at > cutoff:
            cutoff = evict_at
            state.evict_before(cutoff)
            direct.evict_before(cutoff)
        cache.save(state, 0)
        _same(state, direct)
        if restart:
            cache.clear()
    _same(StateCache({}, rows).get("s1", 0), direct)  # this worker, restarted
    _same(StateCache({}, rows.restored()).get("s1", 0), direct)  # another, after a takeover
    keys = rows.changelog[0]
    assert b"s1" not in keys  # no blob
    days = sorted(int.from_bytes(k[4:], "big") for k in keys if k.startswith(b"s1/d"))
    if direct.first_poll_us is None:
        assert days == []
    else:  # no day row before the first kept poll's day survives eviction
        assert days[0] >= state_rows.day_of(direct.first_poll_us) if days else True


def test_a_save_writes_what_the_batch_brought_not_the_history() -> None:
    """Ten days of hourly polls, one poll per batch: after the first (full) save each save
    writes the tail or one day's row, never the store's history."""
    rows = _Rows()
    cache = StateCache({}, rows)
    state = _profiled(cache.get("s1", 0))
    cache.save(state, 0)
    rows.writes.clear()
    biggest = 0
    for hour in range(240):
        state = cache.get("s1", 0)
        assert cache.add_polls(state, [(T0 + hour * US_PER_HOUR, hour % 5 != 0)])
        cache.save(state, 0)
        biggest = max(biggest, sum(len(v or b"") for _, v in rows.writes))
        rows.writes.clear()
    assert biggest <= 2 * 24 * 5 + state_rows.TAIL_LIMIT * 8  # two day rows and a tail
    assert len(state.to_bytes()) > 4 * biggest  # the blob each save wrote before
    _same(StateCache({}, rows.restored()).get("s1", 0), state)


def test_eviction_deletes_old_day_rows_and_trims_the_first_kept_day() -> None:
    rows = _Rows()
    cache = StateCache({}, rows)
    state = _profiled(cache.get("s1", 0))
    cache.add_polls(state, [(T0 + h * US_PER_HOUR, True) for h in range(24 * 6)])
    cache.save(state, 0)
    before = {k for k in rows.changelog[0] if k.startswith(b"s1/d")}
    assert len(before) == 6
    rows.writes.clear()
    state = cache.get("s1", 0)
    cutoff = T0 + 3 * US_PER_DAY + 12 * US_PER_HOUR
    assert state.evict_before(cutoff)
    cache.save(state, 0)
    gone = [k for k, v in rows.writes if v is None and k.startswith(b"s1/d")]
    assert sorted(gone) == sorted(state_rows.day_key("s1", state_rows.day_of(T0) + d)
                                  for d in range(3))
    first_day = state_rows.day_key("s1", state_rows.day_of(cutoff))
    trimmed = state_rows.decode_day(state_rows.day_of(cutoff), rows.changelog[0][first_day])
    assert trimmed[0][0] == cutoff and len(trimmed) == 12
    _same(StateCache({}, rows.restored()).get("s1", 0), state)


def test_a_store_in_the_old_blob_key_is_read_then_replaced_by_rows() -> None:
    rows = _Rows()
    old = _profiled(StoreState("s1"))
    old.add_polls([(T0 + h * US_PER_HOUR, h % 3 != 0) for h in range(50)])
    rows.local[0] = {b"s1": old.to_bytes()}
    rows.changelog[0] = {b"s1": old.to_bytes()}
    cache = StateCache({}, rows)
    state = cache.get("s1", 0)
    _same(state, old)
    assert cache.add_polls(state, [(T0 + 50 * US_PER_HOUR, True)])
    cache.save(state, 0)
    assert b"s1" not in rows.local[0] and b"s1" not in rows.changelog[0]  # a tombstone
    assert (b"s1", None) in rows.writes
    old.add_polls([(T0 + 50 * US_PER_HOUR, True)])
    _same(StateCache({}, rows.restored()).get("s1", 0), old)


def test_store_ids_name_each_store_once_whatever_its_rows() -> None:
    rows = _Rows()
    cache = StateCache({}, rows)
    for sid in ("a", "b"):
        state = _profiled(cache.get(sid, 0))
        cache.add_polls(state, [(T0 + h * US_PER_HOUR, True) for h in range(30)])
        cache.save(state, 0)
    table = {key.decode(errors="surrogateescape"): value for key, value in rows.local[0].items()}
    assert len(table) > 2  # several rows per store
    cold = StateCache(table, rows)
    assert sorted(cold.store_ids()) == ["a", "b"]
    assert cold.get("a").poll_count == 30


def test_the_first_save_after_a_restart_sends_every_row_again() -> None:
    """RocksDB had the rows, the changelog may not (a worker killed between the two): the
    input read again changes nothing here, so the first save must send every row."""
    rows = _Rows()
    cache = StateCache({}, rows)
    state = _profiled(cache.get("s1", 0))
    cache.add_polls(state, [(T0 + h * US_PER_HOUR, True) for h in range(48)])
    cache.save(state, 0)
    rows.changelog[0].clear()  # the sends never landed
    restarted = StateCache({}, rows)
    state = restarted.get("s1", 0)
    assert restarted.must_save("s1")
    restarted.save(state, 0)
    _same(StateCache({}, rows.restored()).get("s1", 0), state)


def test_a_store_kept_as_rows_is_found_by_a_lookup_and_an_unknown_one_is_not():
    """``GET /stores/{id}`` asks :meth:`StateCache.find`: with the rows there is no key equal
    to the store id any more (it answered 404 for every store after the row layout)."""
    rows = _Rows()
    writer = StateCache({}, rows)
    state = _profiled(writer.get("s1", 2))
    writer.add_polls(state, [(T0, True), (T0 + US_PER_HOUR, False)])
    writer.save(state, 2)
    lookup = StateCache({}, rows.restored())  # a fresh cache: nothing live
    found = lookup.find("s1")
    assert found is not None and found.polls() == state.polls()
    assert lookup.find("s2") is None and len(lookup) == 1  # the unknown store not kept


def test_a_new_store_writes_its_profile_and_its_tail_only() -> None:
    """Nothing of a store new to RocksDB can be missing from the changelog, so its first save
    is not the full one (no empty tail, no tombstone of an old one-blob key): the hours file
    of a new fleet writes one row per store."""
    rows = _Rows()
    cache = StateCache({}, rows)
    state = cache.get("s1", 0)
    state.set_hours([(d, 9 * US_PER_HOUR, 17 * US_PER_HOUR) for d in range(7)])
    cache.save(state, 0)
    assert [key for key, _ in rows.writes] == [state_rows.profile_key("s1")]
    polls = [(T0 + h * US_PER_HOUR, True) for h in range(3)]
    cache.add_polls(state, polls)
    cache.save(state, 0)
    assert [key for key, _ in rows.writes[1:]] == [state_rows.tail_key("s1")]
    bare = cache.get("s2", 0)  # a store whose first message changed nothing
    cache.save(bare, 0)
    assert rows.writes[-1][0] == state_rows.profile_key("s2")  # it exists all the same
    restarted = StateCache({}, rows)
    assert restarted.get("s1", 0).polls() == polls
    assert restarted.get("s1", 0).hours == state.hours
    restarted.get("s2", 0)
    assert not restarted.is_unsaved("s2")  # read back from its row, not created again
