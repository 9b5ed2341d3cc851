"""Found by schemathesis (issue 25, finding 8 follow-up): a request aiohttp cannot parse (a
NUL byte in a header, say) is answered 400 by aiohttp itself, which then logged an ERROR
with a full traceback: anyone could fill the worker's log, one traceback per request. Such
requests are answered the same and logged without a traceback, at debug level."""

from __future__ import annotations

import asyncio
import logging

from aiohttp.test_utils import TestServer

from streamproc import config
from tests.support import secure_app


def test_a_malformed_request_is_answered_400_without_an_error_logged(caplog) -> None:
    settings = config.load({"STREAMPROC_API_TOKEN": "t", "STREAMPROC_SESSION_SECRET": "m" * 32})

    async def main() -> bytes:
        async with TestServer(secure_app.app(settings)) as server:
            reader, writer = await asyncio.open_connection(server.host, server.port)
            writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Probe: \x00\r\n\r\n")
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(200), 5.0)
            writer.close()
            return answer

    with caplog.at_level(logging.DEBUG):
        answer = asyncio.run(main())
    assert answer.split(b" ", 2)[1] == b"400"
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert loud == []
