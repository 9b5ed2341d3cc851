"""Found by schemathesis as a poller (issue 25, finding 8 follow-up): ``POST /session`` with
a poller's token answered 200 with a cookie naming a role the OpenAPI document does not
have, a cookie no route would then accept (a session is for the dashboard; pollers publish
with their token). It is refused, as the document says (403)."""

from __future__ import annotations

import hashlib

from aiohttp.test_utils import TestClient

from streamproc import config
from streamproc.web.access import COOKIE
from tests.support.secure_app import POLLER, owners_file, run


def test_a_poller_gets_no_session(tmp_path) -> None:
    settings = config.load({
        "STREAMPROC_OWNERS_FILE": str(owners_file(tmp_path)),
        "STREAMPROC_SESSION_SECRET": "p" * 32,
        "STREAMPROC_POLLER_TOKENS_SHA256": hashlib.sha256(POLLER.encode()).hexdigest()})

    async def scenario(client: TestClient) -> None:
        headers = {"Authorization": f"Bearer {POLLER}"}
        async with client.post("/session", headers=headers) as resp:
            assert resp.status == 403
            assert COOKIE not in resp.cookies
            assert "poller" in (await resp.json())["error"]
        async with client.post("/events", headers=headers) as resp:
            assert resp.status == 200  # the token itself still publishes

    run(settings, scenario)
