"""web/access.py on a bare aiohttp app (no Faust, no Kafka): every route answers 401 / 403 /
404 as the roles say, for bearer tokens, session cookies and the peer secret."""

from __future__ import annotations

import asyncio
import hashlib

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from streamproc.config import Settings
from streamproc.web import access, middleware
from streamproc.web.access import principal_of

OP, PEER, ALICE, POLLER = "op-token", "peer-secret", "alice-token", "poller-token"


def _settings(tmp_path) -> Settings:
    digest = hashlib.sha256(ALICE.encode()).hexdigest()
    owners = tmp_path / "owners.csv"
    owners.write_text(f"owner_id,token_sha256,store_id\nalice,{digest},s1\n")
    return Settings(api_token=OP, peer_secret=PEER, owners_file=owners, session_secret="k" * 32,
                    poller_tokens_sha256=hashlib.sha256(POLLER.encode()).hexdigest())


async def _who(request: web.Request) -> web.Response:
    p = principal_of(request)
    return web.json_response({"role": p.role, "stores": sorted(p.stores)})


def _app(settings: Settings) -> web.Application:
    app = web.Application()
    middleware.install(app, access.Access.from_settings(settings))
    access.add_routes(app.router)
    for path in ("/fleet", "/metrics", "/table/x/", "/stores/{store_id}", "/internal/rows",
                 "/health", "/events"):
        app.router.add_get(path, _who)
    return app


def _run(tmp_path, scenario) -> None:
    async def main() -> None:
        async with TestClient(TestServer(_app(_settings(tmp_path)))) as client:
            await scenario(client)

    asyncio.run(main())


def test_roles_on_every_kind_of_route(tmp_path) -> None:
    async def scenario(client: TestClient) -> None:
        async def status(path: str, token: str | None = None, **kw) -> int:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with client.get(path, headers=headers, **kw) as resp:
                return resp.status

        expected = {  # path: (nobody, operator, alice, peer, poller)
            "/health": (200, 200, 200, 200, 200),
            "/fleet": (401, 200, 200, 401, 403),
            "/metrics": (401, 200, 403, 401, 403),
            "/table/x/": (401, 200, 403, 401, 403),
            "/stores/s1": (401, 200, 200, 401, 403),
            "/stores/s2": (401, 200, 404, 401, 403),
            "/internal/rows": (401, 401, 401, 200, 401),
            "/events": (401, 200, 403, 401, 200),
            f"/fleet?access_token={OP}": (401, 200, 200, 401, 403),  # never a token in a URL
        }
        for path, want in expected.items():
            got = tuple([await status(path, t) for t in (None, OP, ALICE, PEER, POLLER)])
            assert got == want, (path, got)

    _run(tmp_path, scenario)


def test_session_cookie_exchange(tmp_path) -> None:
    async def scenario(client: TestClient) -> None:
        async with client.post("/session", headers={"Authorization": "Bearer nope"}) as resp:
            assert resp.status == 401
        async with client.post("/session", headers={"Authorization": f"Bearer {ALICE}"}) as r:
            assert r.status == 200
            cookie = r.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and ALICE not in cookie
        async with client.get("/fleet") as resp:  # the client keeps the cookie
            assert resp.status == 200 and (await resp.json())["stores"] == ["s1"]
        async with client.get("/metrics") as resp:
            assert resp.status == 403
        same = {"Sec-Fetch-Site": "same-origin"}  # what the dashboard's page sends (issue 25)
        async with client.delete("/session", headers=same) as resp:
            assert resp.status == 200
        client.session.cookie_jar.clear()
        async with client.get("/fleet") as resp:
            assert resp.status == 401
        async with client.delete("/session") as resp:  # no session to end
            assert resp.status == 401

    _run(tmp_path, scenario)


def test_open_when_nothing_is_configured(tmp_path) -> None:
    async def main() -> None:
        async with TestClient(TestServer(_app(Settings()))) as client, \
                client.get("/metrics") as resp:
            assert resp.status == 200 and (await resp.json())["role"] == "operator"

    asyncio.run(main())
