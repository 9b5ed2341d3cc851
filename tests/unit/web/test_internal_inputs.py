"""Worker-to-worker inputs are checked strictly: no booleans for numbers, no NaN, bounds."""

from __future__ import annotations

import math

import pytest

from streamproc.web.internal import MAX_TIMEOUT_S, _targets, _timeout


@pytest.mark.parametrize("value", [False, True, "nan", math.nan, math.inf, -1, 0,
                                   MAX_TIMEOUT_S + 1, None, "60"])
def test_bad_timeouts_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="timeout"):
        _timeout(value)


def test_good_timeouts() -> None:
    assert _timeout(0.5) == 0.5 and _timeout(MAX_TIMEOUT_S) == MAX_TIMEOUT_S and _timeout(3) == 3


def test_targets_are_topic_partition_offset() -> None:
    assert _targets([["t", 1, 5], ["u", 2.0, 7.0]]) == {("t", 1): 5, ("u", 2): 7}
    for bad in (5, [["t", "x", 1]], [["t", True, 1]], [["t", 1, -1]], [["t", 1.5, 1]],
                [["t", 1]], [[1, 1, 1]], [["t", 1, math.nan]], [["t", 1, math.inf]]):
        with pytest.raises(ValueError):
            _targets(bad)


def test_internal_rows_documents_the_now_it_accepts() -> None:
    """Found by schemathesis with the peer secret: a ``now`` below -2**63 is valid for an
    unbounded "integer" but JSON-decodes to a float, so the worker refused it (400) although
    the document allowed it. The document bounds ``now`` to what is read as an integer."""
    from streamproc.web import internal, openapi

    body = openapi.spec()["paths"]["/internal/rows"]["post"]["requestBody"]
    now = body["content"]["application/json"]["schema"]["properties"]["now"]
    assert now["minimum"] == internal.NOW_MIN and now["maximum"] == internal.NOW_MAX
    assert internal.NOW_MIN <= -(2**50) and internal.NOW_MAX >= 2**50  # year 37,648


def test_an_integral_float_now_is_the_integer_it_is() -> None:
    """Found by schemathesis with the peer secret: ``"now": 62764888116.0`` is an integer
    to JSON Schema (so the document allowed it) but was refused with 400."""
    from streamproc.web.internal import _now

    assert _now(62764888116.0) == 62764888116 and _now(5) == 5 and _now(None) is None
    for bad in (1.5, True, math.nan, math.inf, "5", 2.0**64, -(2**63) - 1,
                float(-(2**63) - 1), 2**53 + 1):
        with pytest.raises(ValueError):
            _now(bad)
