"""A snapshot trusts its workers' answers only when they cover each partition exactly once."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from streamproc.core.coverage import coverage_problem, duplicate_ids


def test_an_exact_cover_is_fine() -> None:
    assert coverage_problem({"a": [0, 2], "b": [1, 3]}, 4) is None
    assert coverage_problem({"a": [0, 1, 2]}, 3) is None


def test_missing_twice_and_stray_partitions_are_named() -> None:
    assert "[3]" in coverage_problem({"a": [0, 2], "b": [1]}, 4)
    reason = coverage_problem({"a": [0, 1], "b": [1, 2]}, 3)
    assert "two workers" in reason and "1: ['a', 'b']" in reason
    assert "[5]" in coverage_problem({"a": [0, 1, 5]}, 2)


@given(st.integers(1, 12), st.lists(st.tuples(st.integers(0, 3), st.integers(0, 14)), max_size=40))
def test_fine_exactly_when_each_partition_is_held_once(n: int, held: list) -> None:
    parts: dict[str, list[int]] = {}
    for worker, p in held:
        parts.setdefault(str(worker), []).append(p)
    flat = sorted(p for ps in parts.values() for p in ps)
    assert (coverage_problem(parts, n) is None) == (flat == list(range(n)))


def test_duplicate_ids() -> None:
    assert duplicate_ids(["a", "b", "a", "c", "b"]) == ["a", "b"]
    assert duplicate_ids(["a"]) == []
