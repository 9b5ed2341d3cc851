"""No record of a topic without gaps is stepped over (streamproc/kafka/holes.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streamproc.kafka.holes import Expected, Verdict, commit_would_skip

TP = ("polls", 4)


def test_records_in_order_are_handed_on():
    e = Expected()
    e.moved(TP, 7, 1137)
    assert [e.check(TP, 7, o)[0] for o in range(1137, 1141)] == [Verdict.HAND_ON] * 4


def test_a_record_beyond_the_next_one_sends_the_consumer_back_to_the_first_skipped():
    e = Expected()
    e.moved(TP, 7, 1137)
    for o in range(1137, 1147):
        e.check(TP, 7, o)
    assert e.check(TP, 7, 1148) == (Verdict.READ_AGAIN, 1147)
    # read again from 1147: handed on, and the next jump is a new hole
    assert e.check(TP, 7, 1147) == (Verdict.HAND_ON, 1147)
    assert e.check(TP, 7, 1148) == (Verdict.HAND_ON, 1148)
    assert e.check(TP, 7, 1150) == (Verdict.READ_AGAIN, 1149)


def test_skipped_again_after_reading_again_means_gone_and_the_consumer_goes_on():
    e = Expected()
    e.moved(TP, 7, 100)
    assert e.check(TP, 7, 250) == (Verdict.READ_AGAIN, 100)
    assert e.check(TP, 7, 250) == (Verdict.GONE, 100)  # deleted by retention
    assert e.check(TP, 7, 251) == (Verdict.HAND_ON, 251)


def test_a_record_before_the_next_one_is_handed_on_and_expectations_are_per_generation():
    e = Expected()
    e.moved(TP, 7, 1137)
    assert e.check(TP, 7, 1130)[0] is Verdict.HAND_ON  # read again below a seek: Faust drops
    e.moved(TP, 7, 1137)
    assert e.check(TP, 8, 1300)[0] is Verdict.HAND_ON  # a new assignment: its seek decides
    e.forget(TP)
    assert e.check(TP, 8, 5000)[0] is Verdict.HAND_ON


def test_records_lost_at_the_end_of_a_batch_are_found_by_the_position():
    e = Expected()
    e.moved(TP, 7, 10)
    for o in (10, 11):
        e.check(TP, 7, o)
    assert e.behind(TP, 7, 12)[0] is Verdict.HAND_ON
    assert e.behind(TP, 8, 14)[0] is Verdict.HAND_ON  # another generation: its seek decides
    assert e.behind(TP, 7, 14) == (Verdict.READ_AGAIN, 12)  # 12, 13 never handed on
    # sought back to 12, the position is 14 again with nothing handed: gone (retention)
    assert e.behind(TP, 7, 14) == (Verdict.GONE, 12)
    assert e.check(TP, 7, 14) == (Verdict.HAND_ON, 14)


def test_a_commit_never_steps_over_the_record_at_the_committed_offset():
    assert commit_would_skip(1147, [1148, 1149])
    assert not commit_would_skip(1147, [1147, 1148])
    assert not commit_would_skip(1147, [])
    assert not commit_would_skip(None, [3, 4])


@given(st.integers(1, 300), st.lists(st.integers(0, 299), max_size=40, unique=True))
def test_a_lossy_fetch_path_still_hands_on_every_record_in_order(n, lost_once):
    """The broker holds 0..n-1; the path from it loses each offset in ``lost_once`` the first
    time it passes. Following the verdicts, every record is handed on, none stepped over."""
    e, lost, position, handed = Expected(), set(lost_once), 0, []
    e.moved(TP, 1, 0)
    while position < n:
        batch = list(range(position, min(n, position + 16)))
        position = batch[-1] + 1
        for offset in batch:
            if offset in lost:
                lost.discard(offset)
                continue
            verdict, first = e.check(TP, 1, offset)
            if verdict is Verdict.READ_AGAIN:
                position = first  # the seek; the rest of this batch is stale
                break
            assert verdict is Verdict.HAND_ON
            handed.append(offset)
        verdict, first = e.behind(TP, 1, position)  # after each batch: lost at its end?
        assert verdict is not Verdict.GONE
        if verdict is Verdict.READ_AGAIN:
            position = first
    assert handed == sorted(set(handed)) == list(range(n))
