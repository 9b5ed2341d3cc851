"""Finding 5 of issue 25: ``/live`` streams are capped per owner, not only per worker (one
owner could hold all of them and shut everyone else out), and a stream ends when the session
cookie that opened it expires."""

from __future__ import annotations

import asyncio
import time

from aiohttp.test_utils import TestClient

from streamproc import config
from streamproc.core import live_quota
from streamproc.web.access import COOKIE
from tests.support import secure_app
from tests.support.secure_app import ALICE, BOB, OP, owners_file


def _settings(tmp_path, **env: str) -> config.Settings:
    return config.load({"STREAMPROC_OWNERS_FILE": str(owners_file(tmp_path)),
                        "STREAMPROC_API_TOKEN": OP, "STREAMPROC_SESSION_SECRET": "s" * 32,
                        **env})


_run = secure_app.run_with_live


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_an_owner_holds_at_most_their_share_of_live_streams(tmp_path) -> None:
    settings = _settings(tmp_path, STREAMPROC_LIVE_MAX_PER_PRINCIPAL="2",
                         STREAMPROC_LIVE_MAX_CLIENTS="10")

    async def scenario(client: TestClient) -> None:
        held = [await client.get("/live", headers=_bearer(ALICE)) for _ in range(2)]
        assert [r.status for r in held] == [200, 200]
        refused = await client.get("/live", headers=_bearer(ALICE))
        assert refused.status == 429 and refused.headers["Retry-After"]
        assert "at most 2" in (await refused.json())["error"]
        others = [await client.get("/live", headers=_bearer(t)) for t in (BOB, OP, OP, OP)]
        assert [r.status for r in others] == [200] * 4  # bob and the operator are not shut out
        held[0].close()
        await asyncio.sleep(0.2)  # the closed stream is given back
        again = await client.get("/live", headers=_bearer(ALICE))
        assert again.status == 200
        for resp in [*held, *others, again]:
            resp.close()

    _run(settings, scenario)


def test_the_worker_total_still_applies(tmp_path) -> None:
    settings = _settings(tmp_path, STREAMPROC_LIVE_MAX_CLIENTS="2")

    async def scenario(client: TestClient) -> None:
        held = [await client.get("/live", headers=_bearer(t)) for t in (OP, ALICE)]
        assert [r.status for r in held] == [200, 200]
        assert (await client.get("/live", headers=_bearer(BOB))).status == 503
        for resp in held:
            resp.close()

    _run(settings, scenario)


def test_a_stream_ends_when_its_session_cookie_expires(tmp_path) -> None:
    settings = _settings(tmp_path, STREAMPROC_SESSION_HOURS=str(2 / 3600))

    async def scenario(client: TestClient) -> None:
        async with client.post("/session", headers=_bearer(ALICE)) as resp:
            cookie = resp.cookies[COOKIE].value
        start = time.monotonic()
        async with client.get("/live", headers={"Cookie": f"{COOKIE}={cookie}"}) as resp:
            assert resp.status == 200
            text = (await asyncio.wait_for(resp.content.read(), 8.0)).decode()
        assert "event: end" in text and time.monotonic() - start < 8.0

    _run(settings, scenario)


def test_quota_rule() -> None:
    assert live_quota.refusal(0, 0, 1, 1, capped_caller=True) is None
    assert live_quota.refusal(1, 1, 1, 5, capped_caller=True).cap == live_quota.CALLER
    assert live_quota.refusal(9, 9, 1, 10, capped_caller=False) is None  # the operator
    assert live_quota.refusal(0, 5, 3, 5, capped_caller=True).cap == live_quota.WORKER
