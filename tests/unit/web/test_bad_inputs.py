"""Finding 8 of issue 25: odd inputs get a clear 400/401 naming what is wrong, never a 500
with a traceback in the log (``"²".isdigit()`` is true; a header of non-UTF-8 bytes)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp.test_utils import TestClient, TestServer

from streamproc.config import Settings
from streamproc.web import report_api
from tests.support import secure_app
from tests.support.secure_app import OP

SECRETS = {"session_secret": "s" * 32, "peer_secret": "p" * 32}


def _run(settings: Settings, scenario) -> None:
    async def main() -> None:
        app = secure_app.app(settings)
        app.router.add_get("/reports/list", report_api.list_reports)
        async with TestClient(TestServer(app)) as client:
            await scenario(client)

    asyncio.run(main())


async def _raw(client: TestClient, head: bytes) -> tuple[int, bytes]:
    """One request written byte for byte (no client library cleans its headers)."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(head + b"Host: localhost\r\nConnection: close\r\n\r\n")
    await writer.drain()
    answer = await reader.read()
    writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize("limit", ["²", "１", "٣", "1e3", "-1", "0", "99999999999999999999"])
def test_odd_limits_are_400(limit: str, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario(client: TestClient) -> None:
        async with client.get("/reports/list", params={"limit": limit},
                              headers={"Authorization": f"Bearer {OP}"}) as resp:
            assert resp.status == 400, await resp.text()
            assert "limit" in (await resp.json())["error"]

    with caplog.at_level(logging.ERROR):
        _run(Settings(api_token=OP, **SECRETS), scenario)
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


@pytest.mark.parametrize("value", [b"Bearer \xff\xfe", b"\xff\xfe", b"Bearer op-token\xc3",
                                   b"Bearer \x80"])
def test_undecodable_authorization_is_401(value: bytes, caplog) -> None:
    async def scenario(client: TestClient) -> None:
        status, body = await _raw(client, b"GET /fleet HTTP/1.1\r\nAuthorization: " + value
                                  + b"\r\n")
        assert status == 401, body
        assert b"Authorization" in body  # says which header is wrong

    with caplog.at_level(logging.ERROR):
        _run(Settings(api_token=OP, **SECRETS), scenario)
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


def test_undecodable_cookie_is_401(caplog) -> None:
    async def scenario(client: TestClient) -> None:
        status, _ = await _raw(client, b"GET /fleet HTTP/1.1\r\n"
                                       b"Cookie: streamproc_session=\xff\xfe.\xff\r\n")
        assert status == 401

    with caplog.at_level(logging.ERROR):
        _run(Settings(api_token=OP, **SECRETS), scenario)
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


def test_an_ordinary_limit_still_works() -> None:
    """The bare app has no pipeline: a good limit gets past the check (to a 500 here), which
    shows the 400s above come from the check and not from the missing pipeline."""
    async def scenario(client: TestClient) -> None:
        async with client.get("/reports/list?limit=5",
                              headers={"Authorization": f"Bearer {OP}"}) as resp:
            assert resp.status == 500

    _run(Settings(api_token=OP, **SECRETS), scenario)

