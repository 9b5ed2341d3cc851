"""The stream's business logic without Kafka: any arrival order gives the batch report."""

from __future__ import annotations

import random

from streamproc.core import wire
from streamproc.core.records import US_PER_DAY, US_PER_HOUR
from streamproc.core.report_rows import compute_report
from streamproc.worker.processing import Processor, Watermarks
from streamproc.worker.statestore import StateCache
from tests.support.stream import (
    T0,
    apply_all,
    as_messages,
    make_processor,
    msg,
    stream_rows,
    synthetic,
)


def test_any_arrival_order_matches_the_batch_report():
    polls, hours, zones = synthetic(1)
    expected = [tuple(r) for r in compute_report(polls, hours, zones)]
    for seed in range(3):
        proc, _, dead = make_processor()
        apply_all(proc, as_messages(polls, hours, zones, random.Random(seed)))
        assert not dead
        now = proc.watermarks.now()
        assert now == max(p[1] for p in polls)
        assert stream_rows(proc, now) == expected


def test_replaying_everything_twice_changes_nothing():
    polls, hours, zones = synthetic(2)
    proc, table, _ = make_processor()
    messages = as_messages(polls, hours, zones, random.Random(5))
    apply_all(proc, messages)
    first = stream_rows(proc, proc.watermarks.now())
    saves = proc.stats.saves
    apply_all(proc, messages)
    assert stream_rows(proc, proc.watermarks.now()) == first
    assert proc.stats.saves == saves, "duplicates must not rewrite state"


def test_a_message_read_again_after_a_restart_rewrites_its_store_once():
    """After a kill between a row's RocksDB write and its changelog send, the unacknowledged
    message is read again; RocksDB already has the row, yet it must be written again, or
    the changelog never gets it (a store with hours and no polls is written only then)."""
    hours = [("hours-only", d, "09:00:00", "17:00:00") for d in range(7)]
    proc, table, _ = make_processor()
    messages = as_messages([], hours, [("hours-only", "Asia/Tokyo")], random.Random(1))
    apply_all(proc, messages)
    restarted = Processor(StateCache(table), proc.watermarks, lambda r: None)
    written: list[str] = []

    def save(state, _msg):
        restarted.cache.save(state)
        written.append(state.store_id)

    for again in (1, 2):
        for m in messages:
            (restarted.apply_hours if m.topic == "hours" else restarted.apply_timezone)(m, save)
        assert written == ["hours-only"], f"read {again} time(s) after the restart"


def test_state_survives_a_restart_from_the_table():
    polls, hours, zones = synthetic(3)
    proc, table, _ = make_processor()
    apply_all(proc, as_messages(polls, hours, zones, random.Random(1)))
    now = proc.watermarks.now()
    before = stream_rows(proc, now)
    restarted = Processor(StateCache(table), proc.watermarks, lambda r: None)
    assert stream_rows(restarted, now) == before


def test_hours_change_mid_stream_recomputes_from_kept_polls():
    polls, hours, zones = synthetic(4)
    proc, _, _ = make_processor()
    apply_all(proc, as_messages(polls, [], zones, random.Random(2)))
    apply_all(proc, as_messages([], hours, [], random.Random(3)))
    expected = [tuple(r) for r in compute_report(polls, hours, zones)]
    assert stream_rows(proc, proc.watermarks.now()) == expected


def test_bad_messages_go_to_the_dead_letter_and_good_ones_apply():
    proc, table, dead = make_processor()
    good = msg("polls", "42", wire.encode_polls([(T0, True)]), 7)
    bad = [
        msg("polls", "42", b"not json", 1),
        msg("polls", "=cmd", wire.encode_polls([(T0, True)]), 2),
        msg("polls", b"", wire.encode_polls([(T0, True)]), 3),
        msg("polls", "42", b'{"t": [1], "a": [2]}', 4),
        msg("polls", "42", b'{"t": [99999999999999999999], "a": [1]}', 5),
        msg("polls", b"\xff\xfe", wire.encode_polls([(T0, True)]), 6),
    ]
    proc.apply_polls(bad + [good], lambda s, m: proc.cache.save(s))
    proc.apply_timezone(msg("tz", "42", b'{"tz": "Mars/Olympus"}', 8), lambda s, m: None)
    proc.apply_hours(msg("hours", "42", b'{"hours": [[7, 0, 1]]}', 9), lambda s, m: None)
    assert len(dead) == 8
    reasons = " | ".join(r.reason for r in dead)
    for fragment in ("not JSON", "safe store id", "no key", "1 (active) or 0",
                     "out of range", "UTF-8", "unknown time zone", "day 7"):
        assert fragment in reasons
    assert list(table) == ["42"]
    assert proc.cache.get("42").polls() == [(T0, True)]


def test_old_polls_are_evicted_and_state_stays_bounded():
    proc, _, _ = make_processor()
    sizes = []
    for day in range(28):
        batch = [
            msg("polls", "7", wire.encode_polls([(T0 + day * US_PER_DAY + h * US_PER_HOUR, True)]))
            for h in range(24)
        ]
        proc.apply_polls(batch, lambda s, m: proc.cache.save(s))
        sizes.append(proc.cache.get("7").poll_count)
    assert max(sizes[10:]) <= 24 * 10
    assert sizes[-1] >= 24 * 8
    # a poll older than the retention is dropped, not applied
    proc.apply_polls([msg("polls", "7", wire.encode_polls([(T0, False)]))], lambda s, m: None)
    assert proc.stats.late_dropped == 1


def test_the_watermark_includes_what_other_workers_wrote() -> None:
    from streamproc.worker.cluster_watermark import ClusterWatermark

    shared = ClusterWatermark("unused:9092", "wm-changelog", 4)
    for key, value in ((b"0", b"100"), (b"3", b"250"), (b"0", b"90"), (b"x", b"7"), (b"1", None)):
        shared.apply(key, value)
    assert shared.by_partition == {0: 100, 3: 250} and shared.now == 250
    marks = Watermarks({}, clock=lambda: 0.0, shared=lambda: shared.now)
    assert marks.refresh() == 250
    shared.apply(b"2", b"400")
    assert marks.refresh() == 400
