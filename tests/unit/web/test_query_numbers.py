"""Query numbers are checked, never silently clamped: 400 with the reason."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import make_mocked_request

from streamproc.web.http import BadRequest, int_param


def ask(query: str) -> int:
    return int_param(make_mocked_request("GET", "/fleet" + query), "limit", 50, 0, 1000)


def test_absent_gives_the_default_and_good_values_pass() -> None:
    assert ask("") == 50 and ask("?limit=0") == 0 and ask("?limit=1000") == 1000


@pytest.mark.parametrize("query", ["?limit=-5", "?limit=1001", "?limit=abc", "?limit=nan",
                                   "?limit=inf", "?limit=1e3", "?limit=", "?limit=%00",
                                   "?limit=99999999999999999999", "?limit=٣"])
def test_bad_values_are_refused_with_the_reason(query: str) -> None:
    with pytest.raises(BadRequest, match="limit"):
        ask(query)
