"""`GET /stores/{id}/alerts` on a bare aiohttp app with the real access middleware and a
stand-in runtime: an owner sees their store's history (newest first), another store is a
404 like an unknown one, and with alerts off the route says so."""

from __future__ import annotations

import asyncio
import hashlib
from types import SimpleNamespace

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from streamproc.config import Settings
from streamproc.web import access, alerts, middleware
from streamproc.web.http import PIPELINE

OP, ALICE = "op-token", "alice-token"
HISTORY = {"s1": [{"alert_id": "s1:1:outage", "type": "outage"},
                  {"alert_id": "s1:1:recovery", "type": "recovery"}],
           "s2": [{"alert_id": "s2:5:outage", "type": "outage"}]}


def _app(tmp_path, alerting_on: bool = True) -> web.Application:
    owners = tmp_path / "owners.csv"
    owners.write_text("owner_id,token_sha256,store_id\n"
                      f"alice,{hashlib.sha256(ALICE.encode()).hexdigest()},s1\n")
    settings = Settings(api_token=OP, owners_file=owners, session_secret="s" * 32)
    monitor = SimpleNamespace(alerting=object() if alerting_on else None,
                              alert_history=lambda store_id: HISTORY.get(store_id, []))
    cluster = SimpleNamespace(alerts_owner=lambda: None, own_url=lambda: "http://here")
    app = web.Application()
    app[PIPELINE] = SimpleNamespace(monitor=monitor, cluster=cluster)
    middleware.install(app, access.Access.from_settings(settings))
    alerts.add_routes(app.router)
    return app


def _get(app: web.Application, path: str, token: str) -> tuple[int, dict]:
    async def main() -> tuple[int, dict]:
        async with TestClient(TestServer(app)) as client, client.get(
                path, headers={"Authorization": f"Bearer {token}"}) as resp:
            return resp.status, await resp.json()

    return asyncio.run(main())


def test_an_owner_sees_the_history_of_their_store_only(tmp_path) -> None:
    app = _app(tmp_path)
    status, doc = _get(app, "/stores/s1/alerts", ALICE)
    assert status == 200
    assert [a["type"] for a in doc["alerts"]] == ["recovery", "outage"], "newest first"
    assert _get(_app(tmp_path), "/stores/s2/alerts", ALICE)[0] == 404
    status, doc = _get(_app(tmp_path), "/stores/s2/alerts", OP)
    assert status == 200 and doc["alerts"][0]["alert_id"] == "s2:5:outage"


def test_with_alerts_off_the_route_says_so(tmp_path) -> None:
    status, doc = _get(_app(tmp_path, alerting_on=False), "/stores/s1/alerts", OP)
    assert status == 404 and "alerts are off" in doc["error"]
