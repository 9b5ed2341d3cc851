"""A snapshot accepts the workers' rows only as evaluated against the assignment they caught
up with, each store once (streamproc.worker.cluster._merge_parts)."""

from __future__ import annotations

import pytest

from streamproc.core.report_rows import ReportRow
from streamproc.worker.cluster import AssignmentChanged, _merge_parts


def row(store_id: str) -> ReportRow:
    return ReportRow(store_id, 1, 2, 3, 4, 5, 6)


CAUGHT = {"": {"partitions": [0, 2], "epoch": 4}, "http://b": {"partitions": [1, 3], "epoch": 9}}


def parts(**changes) -> dict:
    out = {"": {"rows": [row("s2"), row("s1")], "partitions": [0, 2], "epoch": 4},
           "http://b": {"rows": [list(row("s3"))], "partitions": [1, 3], "epoch": 9}}
    for key, value in changes.items():
        out["" if key == "me" else "http://b"].update(value)
    return out


def test_rows_of_all_workers_sorted_once() -> None:
    assert [r.store_id for r in _merge_parts(CAUGHT, parts())] == ["s1", "s2", "s3"]


@pytest.mark.parametrize("changes", [
    {"peer": {"epoch": 10}},  # a rebalance between catch-up and rows
    {"me": {"partitions": [0]}},  # a partition revoked meanwhile
    {"peer": {"rows": [list(row("s1"))]}},  # a store evaluated by two workers
])
def test_anything_else_is_refused(changes: dict) -> None:
    with pytest.raises(AssignmentChanged):
        _merge_parts(CAUGHT, parts(**changes))
