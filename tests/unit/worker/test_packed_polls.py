"""Packed polls messages (many stores of one partition, no key): wire format, producer
packing and the worker applying them, mixed with per-store messages in any order."""

from __future__ import annotations

import random

import orjson
import pytest
from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given, settings
from hypothesis import strategies as st

from producers import grouping
from streamproc.core import wire
from streamproc.core.report_rows import compute_report
from streamproc.kafka.partitioning import partition_of
from streamproc.worker.processing import Incoming, Processor, Watermarks
from streamproc.worker.statestore import StateCache
from tests.support.stream import T0, stream_rows, synthetic

PARTITIONS = 8


def test_partition_of_is_the_producers_default_partitioner():
    partitioner = DefaultPartitioner()
    every = list(range(PARTITIONS))
    for store_id in ["1", "42", "store-é", "a" * 120, *(str(i) for i in range(500))]:
        assert partition_of(store_id, PARTITIONS) == partitioner(store_id.encode(), every, every)


# -- wire ------------------------------------------------------------------------------


def test_packed_round_trip():
    groups = {"a": [(T0, True), (T0 + 1, False)], "b": [(T0 + 2, True)], "c": []}
    good, bad = wire.decode_packed_polls(wire.encode_packed_polls(groups))
    assert bad == []
    assert {sid: [(ts, bool(up)) for ts, up in polls] for sid, polls in good} == groups


@pytest.mark.parametrize("value, fragment", [
    (b"not json", "not JSON"),
    (b"[1, 2]", "JSON object"),
    (b'{"t": [1], "a": [1]}', "no key"),
    (b'{"stores": [["a", {"t": [1], "a": [1]}]]}', "packed message"),
    (b'{"stores": null}', "packed message"),
    (None, "no value"),
])
def test_a_bad_packed_message_is_rejected_whole(value, fragment):
    with pytest.raises(wire.WireError, match=fragment):
        wire.decode_packed_polls(value)


def test_too_many_polls_in_one_packed_message():
    half = wire.MAX_POLLS_PER_MESSAGE // 2 + 1
    stores = {sid: {"t": [T0] * half, "a": [1] * half} for sid in ("a", "b")}
    with pytest.raises(wire.WireError, match="packed message"):
        wire.decode_packed_polls(orjson.dumps({"stores": stores}))


def test_bad_entries_are_rejected_alone():
    value = orjson.dumps({"stores": {
        "=HYPERLINK(1)": {"t": [T0], "a": [1]},
        "a,b": {"t": [T0], "a": [1]},
        "ok": {"t": [T0], "a": [1]},
        "bad-flag": {"t": [T0], "a": [2]},
        "bad-shape": [T0, 1],
        "short": {"t": [T0, T0 + 1], "a": [1]},
        "late": {"t": [wire.MAX_TS_US], "a": [1]},
    }})
    good, bad = wire.decode_packed_polls(value)
    assert good == [("ok", [(T0, 1)])]
    assert len(bad) == 6
    text = " | ".join(bad)
    for fragment in ("'=HYPERLINK(1)' is not a safe store id", "'a,b' is not a safe",
                     "store bad-flag: every flag", "store bad-shape:", "store short:",
                     "store late: poll timestamp out of range"):
        assert fragment in text


# -- producer packing ------------------------------------------------------------------


def _unpack(messages) -> dict[str, list]:
    out: dict[str, list] = {}
    for partition, value, n in messages:
        good, bad = wire.decode_packed_polls(value)
        assert not bad and n == sum(len(p) for _, p in good)
        for sid, polls in good:
            assert partition_of(sid, PARTITIONS) == partition
            out.setdefault(sid, []).extend((ts, bool(up)) for ts, up in polls)
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"[0-9a-f][0-9a-f-]{0,39}", fullmatch=True),
        st.lists(st.tuples(st.integers(0, 2**50), st.booleans()), max_size=30),
        max_size=60,
    ),
    st.integers(1, 40),
    st.integers(200, 5000),
)
def test_packing_keeps_every_poll_in_its_partition_within_the_limits(groups, max_polls, size):
    messages = list(grouping.packed_poll_messages(groups, PARTITIONS, max_polls, size))
    assert _unpack(messages) == {sid: polls for sid, polls in groups.items() if polls}
    for _partition, value, n in messages:
        assert n <= max_polls
        good, _ = wire.decode_packed_polls(value)
        assert len(good) == 1 or len(value) <= size  # one oversized store goes alone


def test_one_message_per_partition_for_a_typical_slice():
    groups = {str(i): [(T0 + i, True)] for i in range(2000)}
    messages = list(grouping.packed_poll_messages(groups, PARTITIONS))
    assert sorted(p for p, _, _ in messages) == list(range(PARTITIONS))


# -- the worker ------------------------------------------------------------------------


def _processor() -> tuple[Processor, list]:
    dead: list = []
    return Processor(StateCache({}), Watermarks({}), dead.append, partitions=PARTITIONS), dead


def _apply(proc: Processor, polls_messages, hours, zones) -> None:
    def save(state, _msg):
        proc.cache.save(state)

    for sid, rows in hours.items():
        p = partition_of(sid, PARTITIONS)
        proc.apply_hours(Incoming("hours", p, 0, sid.encode(), wire.encode_hours(rows)), save)
    for sid, tz in zones:
        p = partition_of(sid, PARTITIONS)
        proc.apply_timezone(Incoming("tz", p, 0, sid.encode(), wire.encode_timezone(tz)), save)
    for i in range(0, len(polls_messages), 7):
        proc.apply_polls(polls_messages[i : i + 7], save)


def _mixed_messages(polls, rng: random.Random) -> list[Incoming]:
    """Random slices of the polls, each sent either packed or one message per store."""
    shuffled = polls[:]
    rng.shuffle(shuffled)
    out: list[Incoming] = []
    i = 0
    while i < len(shuffled):
        size = rng.randrange(1, 200)
        groups: dict[str, list] = {}
        for sid, ts, up in shuffled[i : i + size]:
            groups.setdefault(sid, []).append((ts, up))
        i += size
        if rng.random() < 0.5:
            for p, value, _ in grouping.packed_poll_messages(groups, PARTITIONS):
                out.append(Incoming("polls", p, i, None, value))
        else:
            for sid, group in groups.items():
                out.append(Incoming("polls", partition_of(sid, PARTITIONS), i, sid.encode(),
                                    wire.encode_polls(group)))
    return out


def test_packed_and_keyed_messages_in_any_order_match_the_batch_report():
    polls, hours, zones = synthetic(7)
    expected = [tuple(r) for r in compute_report(polls, hours, zones)]
    by_store: dict[str, list] = {}
    for sid, d, s, e in hours:
        by_store.setdefault(sid, []).append((d, s, e))
    for seed in range(3):
        proc, dead = _processor()
        _apply(proc, _mixed_messages(polls, random.Random(seed)), by_store, zones)
        assert not dead
        assert stream_rows(proc, proc.watermarks.now()) == expected


def test_a_store_on_the_wrong_partition_is_rejected_and_the_rest_applied():
    proc, dead = _processor()
    home = partition_of("1", PARTITIONS)
    stranger = next(str(i) for i in range(2, 99) if partition_of(str(i), PARTITIONS) != home)
    value = wire.encode_packed_polls({"1": [(T0, True)], stranger: [(T0, False)]})
    proc.apply_polls([Incoming("polls", home, 5, None, value)],
                     lambda s, m: proc.cache.save(s))
    assert proc.cache.get("1").polls() == [(T0, True)]
    assert proc.cache.get(stranger).poll_count == 0
    [rejection] = dead
    expected = f"store {stranger} belongs to partition {partition_of(stranger, PARTITIONS)}"
    assert expected in rejection.reason and f"polls[{home}]@5" in rejection.reason
    # a keyed message sent to another partition than its key's is rejected too
    keyed = Incoming("polls", (home + 1) % PARTITIONS, 6, b"1", wire.encode_polls([(T0 + 1, 1)]))
    proc.apply_polls([keyed], lambda s, m: proc.cache.save(s))
    assert len(dead) == 2 and "store 1 belongs to partition" in dead[1].reason
    assert proc.cache.get("1").poll_count == 1
    # and so are hours and time zones
    proc.apply_timezone(Incoming("tz", (home + 1) % PARTITIONS, 7, b"1",
                                 wire.encode_timezone("Asia/Tokyo")), lambda s, m: None)
    assert len(dead) == 3 and "store 1 belongs to partition" in dead[2].reason
    assert proc.cache.get("1").tz is None


def _packed(stores: dict[str, list[tuple[int, bool]]], partition: int, offset: int) -> Incoming:
    return Incoming("polls", partition, offset, None, wire.encode_packed_polls(stores))


@given(st.integers(1, 40), st.data())
def test_a_batch_applied_in_slices_of_stores_equals_it_applied_at_once(n, data):
    """The worker applies a packed message's stores in slices, the event loop free between
    them: the same states, and until the last slice the messages are not marked processed,
    the watermark has not moved and ``polls_applied`` has not counted them (a report, or a
    script waiting for that count, in between sees the batch as not applied)."""
    stores = [s for s in (str(i) for i in range(200)) if partition_of(s, PARTITIONS) == 3][:n]
    polls = {s: [(T0 + k * 3_600_000_000 + i, bool(k % 2)) for k in range(5)]
             for i, s in enumerate(stores)}
    message = _packed(polls, 3, 17)
    whole, _ = _processor()
    whole.apply_polls([message], lambda state, msg: whole.cache.save(state))
    sliced, _ = _processor()
    plan = sliced.plan_polls([message])
    cut = data.draw(st.integers(0, len(plan.groups)))
    sliced.apply_groups(plan, plan.groups[:cut], lambda state, msg: sliced.cache.save(state))
    assert sliced.watermarks.now() is None and sliced.processed == {}
    assert sliced.stats.polls == 0
    sliced.apply_groups(plan, plan.groups[cut:], lambda state, msg: sliced.cache.save(state))
    sliced.finish_polls(plan)
    assert sliced.processed == whole.processed == {("polls", 3): 18}
    assert sliced.stats.polls == whole.stats.polls == 5 * len(stores)
    assert sliced.watermarks.now() == whole.watermarks.now() == max(
        ts for p in polls.values() for ts, _ in p)
    for s in stores:
        assert sliced.cache.get(s).polls() == whole.cache.get(s).polls() == polls[s]
