"""Who holds a store or the reports, while the group is still forming: never an exception
that would make a view answer 500, always LookupError (the views answer 503 with
Retry-After). Found by the chaos soak: aiokafka raises TypeError while the topic metadata
is not loaded yet."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from streamproc.config import Settings
from streamproc.worker.cluster import Cluster


def _cluster(key_store) -> Cluster:
    app = SimpleNamespace(router=SimpleNamespace(key_store=key_store),
                          conf=SimpleNamespace(canonical_url="http://me:6066"))
    return Cluster(Settings(), app=app, processor=None)


@pytest.mark.parametrize("error", [KeyError("store-state"), TypeError("'NoneType' ...")])
def test_no_owner_yet_is_a_lookup_error(error: Exception) -> None:
    def key_store(table: str, key: str) -> str:
        raise error

    with pytest.raises(LookupError, match="no worker holds the reports right now"):
        _cluster(key_store).reports_owner()


def test_the_owner_is_none_when_it_is_this_worker_and_its_url_otherwise() -> None:
    urls = {"reports": "http://me:6066/", "42": "http://peer:6066"}
    cluster = _cluster(lambda table, key: urls[key])
    assert cluster.reports_owner() is None
    assert cluster.store_owner("42") == "http://peer:6066"
