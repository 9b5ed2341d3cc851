"""Finding 7 of issue 25: a request passed on to another worker carries the caller signed
with the peer secret, never the client's ``Authorization`` or ``Cookie``; without a peer
secret nothing is passed on (503 naming the missing secret).

Two real aiohttp servers: the "front" worker (its view passes the request on through
:func:`streamproc.web.forwarding.to_owner`) and the "holder" worker (the worker middlewares, a view
saying who it sees and what headers it got)."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from streamproc import peers
from streamproc.config import Settings
from streamproc.core import peer_caller
from streamproc.web.forwarding import to_owner
from streamproc.web.http import PIPELINE
from tests.support import secure_app
from tests.support.secure_app import ALICE, owners_file

SESSION, PEER = "s" * 32, "p" * 32


class _Cluster:
    """The one method of the worker's cluster that ``to_owner`` calls, over real HTTP."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def forward(self, method, url, path_qs, headers, body=None, timeout=10.0):
        return await peers.forward(self.session, method, url + path_qs, headers, body, timeout)


async def _holder_view(request: web.Request) -> web.Response:
    who = await secure_app.who(request)
    seen = {k: request.headers.get(k) for k in ("Authorization", "Cookie")}
    return web.json_response({"who": json.loads(who.body), "headers": seen})


def _front(settings: Settings, holder_url: str, session: aiohttp.ClientSession):
    app = secure_app.app(settings)
    app[PIPELINE] = SimpleNamespace(cluster=_Cluster(session))

    async def passed_on(request: web.Request) -> web.StreamResponse:
        return await to_owner(request, lambda: holder_url) or web.Response(status=500)

    app.router.add_get("/stores/{store_id}/x", passed_on)
    return app


def _scenario(front: Settings, holder: Settings, check) -> None:
    async def main() -> None:
        holder_app = secure_app.app(holder)
        holder_app.router.add_get("/stores/{store_id}/x", _holder_view)
        async with TestServer(holder_app) as held, aiohttp.ClientSession() as session:
            holder_url = str(held.make_url("")).rstrip("/")
            async with TestClient(TestServer(_front(front, holder_url, session))) as client:
                await check(client)

    asyncio.run(main())


def test_the_holder_gets_a_signed_caller_not_the_token(tmp_path) -> None:
    settings = Settings(owners_file=owners_file(tmp_path), session_secret=SESSION,
                        peer_secret=PEER)

    async def check(client: TestClient) -> None:
        headers = {"Authorization": f"Bearer {ALICE}"}
        async with client.get("/stores/s1/x", headers=headers) as resp:
            assert resp.status == 200, await resp.text()
            doc = await resp.json()
        assert doc["headers"] == {"Authorization": None, "Cookie": None}
        assert doc["who"] == {"role": "owner", "owner_id": "alice", "stores": ["s1"]}
        async with client.post("/session", headers=headers) as resp:  # a cookie: the same
            assert resp.status == 200
        async with client.get("/stores/s1/x") as resp:
            doc = await resp.json()
        assert doc["headers"] == {"Authorization": None, "Cookie": None}
        assert doc["who"]["owner_id"] == "alice"

    _scenario(settings, settings, check)


def test_without_a_peer_secret_nothing_is_passed_on(tmp_path) -> None:
    settings = Settings(owners_file=owners_file(tmp_path), session_secret=SESSION)

    async def check(client: TestClient) -> None:
        async with client.get("/stores/s1/x",
                              headers={"Authorization": f"Bearer {ALICE}"}) as resp:
            assert resp.status == 503
            assert "STREAMPROC_PEER_SECRET" in (await resp.json())["error"]

    _scenario(settings, settings, check)


def test_a_signed_caller_is_bound_to_its_secret_path_and_time(tmp_path) -> None:
    owners = {"h": secure_app.access.access.Principal("owner", "alice", frozenset({"s1"}))}
    alice = owners["h"]
    value = peer_caller.sign(alice, "GET", "/stores/s1", 1000, PEER)
    assert peer_caller.verify(value, "GET", "/stores/s1", 1010, PEER, owners, True) == alice
    assert peer_caller.verify(value, "GET", "/stores/s1", 1010, "x" * 32, owners, True) is None
    assert peer_caller.verify(value, "GET", "/stores/s2", 1010, PEER, owners, True) is None
    assert peer_caller.verify(value, "POST", "/stores/s1", 1010, PEER, owners, True) is None
    assert peer_caller.verify(value, "GET", "/stores/s1", 1100, PEER, owners, True) is None
    assert peer_caller.verify(value, "GET", "/stores/s1", 1010, PEER, {}, True) is None
    op = peer_caller.sign(secure_app.access.access.OPERATOR_PRINCIPAL, "GET", "/", 5, PEER)
    assert peer_caller.verify(op, "GET", "/", 5, PEER, owners, operators=False) is None
    forged = value.replace("alice", "bob")
    assert peer_caller.verify(forged, "GET", "/stores/s1", 1010, PEER, owners, True) is None


def test_a_client_cannot_send_a_caller_header_of_its_own(tmp_path) -> None:
    settings = Settings(owners_file=owners_file(tmp_path), session_secret=SESSION,
                        peer_secret=PEER)

    async def check(client: TestClient) -> None:
        bogus = {peer_caller.HEADER: "operator||0|00"}
        async with client.get("/metrics", headers=bogus) as resp:
            assert resp.status == 401

    secure_app.run(settings, check)


def test_an_unreachable_worker_is_not_named_in_the_answer(tmp_path) -> None:
    """Issue 25, finding 9: no internal worker URL in an error body."""
    settings = Settings(owners_file=owners_file(tmp_path), session_secret=SESSION,
                        peer_secret=PEER)

    async def main() -> None:
        async with aiohttp.ClientSession() as session:
            app = _front(settings, "http://127.0.0.1:9", session)
            async with TestClient(TestServer(app)) as client, client.get(
                    "/stores/s1/x", headers={"Authorization": f"Bearer {ALICE}"}) as resp:
                assert resp.status == 503
                assert "127.0.0.1:9" not in await resp.text()

    asyncio.run(main())
