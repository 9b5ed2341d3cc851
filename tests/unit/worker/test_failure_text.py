"""Finding 9 of issue 25: a Failed report shown to an owner names no other owner's store,
and no error body shows a worker's internal URL."""

from __future__ import annotations

import asyncio

import aiohttp
from aiohttp.test_utils import TestClient

from streamproc.config import Settings
from streamproc.core.access import OPERATOR_PRINCIPAL, Principal
from streamproc.worker.snapshot import SnapshotTimeout
from tests.unit.web import test_forwarded_caller as forwarding
from tests.unit.web.secure_app import ALICE, owners_file
from tests.unit.worker.test_report_jobs import FakeCluster, _finish, _jobs

REASON = ("no stable assignment within 60 s after 9 attempts: stores ['bob-store-7', "
          "'bob-store-9'] were evaluated twice; http://10.0.3.7:6066/internal/rows answered 409")
ALICE_P = Principal("owner", "alice", frozenset({"s1"}))


def test_an_owner_sees_a_failure_without_other_stores_or_urls(tmp_path) -> None:
    jobs, _ = _jobs(tmp_path, FakeCluster(SnapshotTimeout(REASON)))
    record = asyncio.run(_finish(jobs, ALICE_P))
    assert record["status"] == "Failed"
    shown = jobs.listing(10, ALICE_P)[0]["error"]
    assert "bob-store" not in shown and "10.0.3.7" not in shown and shown
    operator = jobs.listing(10, OPERATOR_PRINCIPAL)[0]["error"]
    assert "bob-store-7" in operator and "10.0.3.7" not in operator  # the reason, no URL


def test_an_unreachable_worker_is_not_named_in_the_answer(tmp_path) -> None:
    settings = Settings(owners_file=owners_file(tmp_path), session_secret="s" * 32,
                        peer_secret="p" * 32)

    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            app = forwarding._front(settings, "http://127.0.0.1:9", session)
            async with TestClient(forwarding.TestServer(app)) as client, client.get(
                    "/stores/s1/x", headers={"Authorization": f"Bearer {ALICE}"}) as resp:
                assert resp.status == 503
                assert "127.0.0.1:9" not in await resp.text()

    asyncio.run(main())
