"""A bare aiohttp app with the worker's middlewares and ``/session`` (no Faust, no Kafka),
for the security tests: every route answers who the caller is."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from streamproc.config import Settings
from streamproc.web import access, middleware
from streamproc.web.access import principal_of

OP, PEER, ALICE, BOB, POLLER = "op-token", "peer-secret", "alice-token", "bob-token", "poller-t"
ROUTES = ("/fleet", "/metrics", "/stores/{store_id}", "/internal/rows", "/health", "/events",
          "/trigger_report", "/reports")


def owners_file(tmp_path: Path) -> Path:
    """alice sees s1, bob sees s2."""
    rows = [f"alice,{hashlib.sha256(ALICE.encode()).hexdigest()},s1",
            f"bob,{hashlib.sha256(BOB.encode()).hexdigest()},s2"]
    path = tmp_path / "owners.csv"
    path.write_text("owner_id,token_sha256,store_id\n" + "\n".join(rows) + "\n")
    return path


async def who(request: web.Request) -> web.Response:
    p = principal_of(request)
    return web.json_response({"role": p.role, "owner_id": p.owner_id,
                              "stores": sorted(p.stores)})


def app(settings: Settings, body_limits: dict[str, int] | None = None) -> web.Application:
    web_app = web.Application()
    middleware.install(web_app, access.Access.from_settings(settings), body_limits)
    access.add_routes(web_app.router)
    for path in ROUTES:
        web_app.router.add_get(path, who)
        web_app.router.add_post(path, who)
    return web_app


def run(settings: Settings, scenario: Callable[[TestClient], Awaitable[None]]) -> None:
    async def main() -> None:
        async with TestClient(TestServer(app(settings))) as client:
            await scenario(client)

    asyncio.run(main())


def run_with_live(settings: Settings, scenario: Callable[[TestClient], Awaitable[None]]) -> None:
    """:func:`run`, plus ``GET /live`` on an outage feed without Kafka behind it."""
    from streamproc.web import live
    from streamproc.web.http import PIPELINE
    from streamproc.worker.monitoring import OutageFeed

    class LocalFeed(OutageFeed):
        async def _ensure_started(self) -> None:
            return None

    class Pipeline:
        def __init__(self, feed: OutageFeed) -> None:
            self.monitor = type("Monitor", (), {"feed": feed})()

    async def main() -> None:
        web_app = app(settings)
        web_app.router.add_get("/live", live.live)
        web_app[PIPELINE] = Pipeline(LocalFeed("unused:9092", "outages",
                                               settings.live_max_clients,
                                               settings.live_max_per_principal))
        async with TestClient(TestServer(web_app)) as client:
            await scenario(client)

    asyncio.run(main())
