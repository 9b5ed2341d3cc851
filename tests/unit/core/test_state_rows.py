"""core/state_rows.py (issue 24): a store kept as profile, day and tail rows holds exactly the
polls the one-blob StoreState holds, so a state rebuilt from the rows answers the same.

Property tests drive random poll batches (duplicates with both statuses, late polls, day
boundaries, timestamps on the microsecond) through the rows' writer rules beside a
StoreState fed the same batches, and compare polls, ``values`` and ``hourly``.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamproc.core import state_rows as rows
from streamproc.core.records import US_PER_DAY, US_PER_HOUR
from streamproc.core.state import StoreState
from tests.support.row_writes import applied

T0 = 1_674_000_000_000_000  # 2023-01-18 00:00 UTC
SPAN = 10 * US_PER_DAY

polls_st = st.lists(st.tuples(st.integers(T0, T0 + SPAN - 1), st.booleans()), max_size=60)
batches_st = st.lists(polls_st, min_size=1, max_size=12)


def _write(batches: list[list[rows.Poll]]) -> dict[bytes, bytes]:
    """The rows after ``batches``, written the way the worker will (tail, seal)."""
    store: dict[bytes, bytes] = {}
    days: dict[int, list[rows.Poll]] = {}
    tail: list[rows.Poll] = []
    for batch in batches:
        tail, day_writes = rows.after_batch(days, tail, batch)
        for day, polls in day_writes.items():
            days[day] = polls
            store[rows.DAY + day.to_bytes(2, "big")] = rows.encode_day(day, polls)
        store[rows.TAIL] = rows.encode_tail(tail)
    return store


def _state(batches: list[list[rows.Poll]]) -> StoreState:
    state = StoreState("s1")
    state.set_timezone("America/Chicago")
    state.set_hours([(d, 9 * US_PER_HOUR, 21 * US_PER_HOUR) for d in range(6)])
    for batch in batches:
        state.add_polls(batch)
    return state


def _from_rows(store: dict[bytes, bytes], like: StoreState) -> StoreState:
    _profile, polls = rows.assemble(store)
    state = StoreState("s1")
    state.set_timezone(like.tz)
    state.set_hours(like.hours)
    state.add_polls(polls)
    return state


@given(polls_st)
def test_day_and_tail_rows_round_trip(polls: list[rows.Poll]) -> None:
    assert rows.decode_tail(rows.encode_tail(polls)) == polls
    for day, group in rows.seal({}, polls).items():
        encoded = rows.encode_day(day, group)
        assert len(encoded) == 5 * len(group)
        assert rows.decode_day(day, encoded) == group


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(batches_st)
def test_rows_hold_the_same_polls_and_answers_as_the_blob(batches) -> None:
    direct = _state(batches)
    rebuilt = _from_rows(_write(batches), direct)
    assert rebuilt.polls() == direct.polls()
    for now in (T0 + SPAN // 2, T0 + SPAN, T0 + SPAN + 3 * US_PER_HOUR):
        assert rebuilt.values(now) == direct.values(now)
        start = (now - 2 * US_PER_DAY) // US_PER_HOUR
        assert rebuilt.hourly(start, start + 48, now) == direct.hourly(start, start + 48, now)


@given(batches_st)
def test_no_write_grows_with_history(batches) -> None:
    """A batch writes the tail (< TAIL_LIMIT polls after it) or day rows of its own days."""
    days: dict[int, list[rows.Poll]] = {}
    tail: list[rows.Poll] = []
    for batch in batches:
        tail, writes = rows.after_batch(days, tail, batch)
        assert len(tail) < rows.TAIL_LIMIT
        assert not rows.should_seal(tail)
        for day, polls in writes.items():
            assert all(rows.day_of(ts) == day for ts, _ in polls)
        days.update(writes)


@given(batches_st, st.integers(T0, T0 + SPAN))
def test_eviction_keeps_what_evict_before_keeps(batches, cutoff: int) -> None:
    days: dict[int, list[rows.Poll]] = {}
    tail: list[rows.Poll] = []
    for batch in batches:
        tail, writes = rows.after_batch(days, tail, batch)
        days.update(writes)
    days.update(rows.seal(days, tail))  # evict runs on sealed rows
    gone, trimmed = rows.evict(days, cutoff)
    for day in gone:
        del days[day]
    days.update(trimmed)
    direct = _state(batches)
    direct.evict_before(cutoff)
    assert rows.merge(*days.values()) == direct.polls()


def test_inactive_wins_on_equal_timestamps_across_rows() -> None:
    assert rows.merge([(T0, True)], [(T0, False)], [(T0, True)]) == [(T0, False)]


def test_keys_split_back_and_old_keys_have_no_suffix() -> None:
    day_suffix = b"d" + (19_375).to_bytes(2, "big")
    assert rows.split_key(rows.day_key("a.b-1", 19_375)) == ("a.b-1", day_suffix)
    assert rows.split_key(rows.tail_key("x")) == ("x", b"t")
    assert rows.split_key(b"legacy-store") == ("legacy-store", b"")
    assert rows.day_key("s", 5) < rows.day_key("s", 256) < rows.tail_key("s")


def test_a_poll_outside_its_day_is_refused() -> None:
    with pytest.raises(ValueError):
        rows.encode_day(0, [(US_PER_DAY, True)])
    assert rows.day_of(-1) == -1


def _suffixed(writes: list[tuple[bytes, bytes | None]]) -> dict[bytes, bytes]:
    """Apply writes to an empty table and key what is left by suffix (one store)."""
    return {rows.split_key(k)[1]: v for k, v in applied(writes).items()}


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(batches_st)
def test_upgrade_of_an_old_blob_keeps_polls_profile_and_answers(batches) -> None:
    old = StoreState.from_bytes("s1", _state(batches).to_bytes())  # as RocksDB holds it
    table = {b"s1": old.to_bytes()}
    for key, value in rows.upgrade_writes(old):
        if value is None:
            del table[key]
        else:
            table[key] = value
    assert b"s1" not in table
    new = rows.state_from_rows("s1", {rows.split_key(k)[1]: v for k, v in table.items()})
    assert (new.tz, new.hours, new.special) == (old.tz, old.hours, old.special)
    assert new.polls() == old.polls()
    now = T0 + SPAN
    assert new.values(now) == old.values(now)


@given(batches_st)
def test_batch_writes_rebuild_the_state_fed_directly(batches) -> None:
    direct = _state(batches)
    writes = [(rows.profile_key("s1"), rows.profile_value(direct))]
    days: dict[int, list[rows.Poll]] = {}
    tail: list[rows.Poll] = []
    for batch in batches:
        tail, changed, batch_rows = rows.batch_writes("s1", days, tail, batch)
        days.update(changed)
        writes += batch_rows
        assert batch_rows[-1][0] == rows.tail_key("s1")  # the tail after the days
    rebuilt = rows.state_from_rows("s1", _suffixed(writes))
    assert rebuilt.polls() == direct.polls()
    assert rebuilt.values(T0 + SPAN) == direct.values(T0 + SPAN)


@given(st.lists(st.tuples(st.integers(0, US_PER_DAY - 1), st.booleans()), max_size=80),
       st.integers(-3, 30_000))
def test_a_day_row_is_five_little_endian_bytes_per_poll(offsets, day: int) -> None:
    """The documented format, spelled one poll at a time: rows written by any version of
    the encoder read back the same."""
    polls = [(day * US_PER_DAY + offset, up) for offset, up in offsets]
    spelled = b"".join(((offset << 1) | up).to_bytes(5, "little") for offset, up in offsets)
    assert rows.encode_day(day, polls) == spelled
    assert rows.decode_day(day, spelled) == polls
