"""Finding 6 of issue 25: a browser cannot be made to act for its user from another site.

* a cookie-authenticated POST/DELETE needs same-origin evidence (``Origin`` equal to the
  request's host, or ``Sec-Fetch-Site: same-origin``), and a cross-site one is refused;
* ``POST /events`` without a Content-Type is not read as NDJSON (415): a page can send such a
  body without a CORS preflight;
* an open (loopback) service answers only to the names of this machine in ``Host`` (DNS
  rebinding: evil.example resolving to 127.0.0.1 would otherwise read everything)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from aiohttp.test_utils import TestClient, TestServer

from streamproc import config
from streamproc.config import Settings
from streamproc.web import events
from streamproc.web.http import PIPELINE
from tests.support import secure_app
from tests.support.secure_app import ALICE, OP, owners_file

SECRETS = {"session_secret": "s" * 32, "peer_secret": "p" * 32}


def _tokens(tmp_path) -> Settings:
    return Settings(api_token=OP, owners_file=owners_file(tmp_path), **SECRETS)


async def _signed_in(client: TestClient) -> None:
    async with client.post("/session", headers={"Authorization": f"Bearer {ALICE}"}) as r:
        assert r.status == 200


async def _post(client: TestClient, path: str, **headers: str) -> int:
    async with client.post(path, json={}, headers=headers) as resp:
        return resp.status


def test_cookie_posts_from_another_site_are_refused(tmp_path) -> None:
    async def scenario(client: TestClient) -> None:
        await _signed_in(client)
        own = f"http://{client.host}:{client.port}"
        assert await _post(client, "/trigger_report", Origin="https://evil.example") == 403
        assert await _post(client, "/trigger_report", **{"Sec-Fetch-Site": "cross-site"}) == 403
        assert await _post(client, "/trigger_report", **{"Sec-Fetch-Site": "same-site"}) == 403
        assert await _post(client, "/trigger_report", Origin="null") == 403
        assert await _post(client, "/trigger_report") == 403  # no evidence at all
        assert await _post(client, "/trigger_report", Origin=own) == 200
        assert await _post(client, "/trigger_report", **{"Sec-Fetch-Site": "same-origin"}) == 200
        async with client.get("/fleet") as resp:  # reading needs no evidence
            assert resp.status == 200

    secure_app.run(_tokens(tmp_path), scenario)


def test_bearer_posts_need_no_origin(tmp_path) -> None:
    async def scenario(client: TestClient) -> None:
        assert await _post(client, "/trigger_report", Authorization=f"Bearer {ALICE}") == 200

    secure_app.run(_tokens(tmp_path), scenario)


def test_events_without_content_type_are_415(tmp_path) -> None:
    async def main() -> None:
        app = secure_app.app(Settings(api_token=OP, **SECRETS))
        app[PIPELINE] = SimpleNamespace(settings=Settings())
        app.router.add_post("/events/body", events.post_events)
        async with TestClient(TestServer(app)) as client, client.post(
                "/events/body", data=b'{"type": "poll"}\n', skip_auto_headers=["Content-Type"],
                headers={"Authorization": f"Bearer {OP}"}) as resp:
            assert resp.status == 415
            assert "Content-Type" in (await resp.json())["error"]

    asyncio.run(main())


def test_an_open_service_answers_only_to_this_machines_names() -> None:
    async def scenario(client: TestClient) -> None:
        async def status(host: str) -> int:
            async with client.get("/fleet", headers={"Host": host}) as resp:
                return resp.status

        assert await status("evil.example") == 403
        assert await status("evil.example:6066") == 403
        assert await status("127.0.0.1.evil.example") == 403
        for good in ("localhost:6066", "127.0.0.1", "[::1]:6066", "LOCALHOST.", "box.lan:80"):
            assert await status(good) == 200, good
        async with client.get("/health", headers={"Host": "evil.example"}) as resp:
            assert resp.status == 200  # probes carry no data

    secure_app.run(config.load({"STREAMPROC_ALLOWED_HOSTS": "box.lan"}), scenario)


def test_an_open_service_refuses_cross_site_posts() -> None:
    async def scenario(client: TestClient) -> None:
        assert await _post(client, "/trigger_report", Origin="https://evil.example") == 403
        assert await _post(client, "/trigger_report") == 200  # curl: no Origin

    secure_app.run(Settings(), scenario)
