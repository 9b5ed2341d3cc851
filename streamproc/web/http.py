"""Building blocks every view shares: the runtime a view reads, JSON answers and errors.

Views are plain aiohttp handlers (``async def view(request) -> Response``); the worker puts
its :class:`~streamproc.worker.pipeline.Pipeline` on the aiohttp application under
:data:`PIPELINE`, and :func:`pipeline_of` gives it back to a view.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

if TYPE_CHECKING:
    from streamproc.worker.pipeline import Pipeline

PIPELINE: web.AppKey = web.AppKey("streamproc.pipeline")
FORWARDED = "X-Streamproc-Forwarded"  # set on a request one worker passes on to another
MAX_BODY_BYTES = 64 * 1024
BODY_TIMEOUT_S = 10.0  # a body not received within this long is refused (408): no slow drip
BODY_MIN_RATE = 100_000  # bytes/s: a body of up to `limit` bytes gets limit/BODY_MIN_RATE s


class BadRequest(Exception):
    """A request the API refuses with 400 (or 413 when ``too_large``, or ``status``)."""

    def __init__(self, message: str, too_large: bool = False, status: int = 400) -> None:
        super().__init__(message)
        self.status = 413 if too_large else status


def pipeline_of(request: web.Request) -> Pipeline:
    return request.app[PIPELINE]


def json_response(doc: Any, status: int = 200,
                  headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(doc), status=status, content_type="application/json",
                        charset="utf-8", headers=headers)


def error_response(status: int, message: str, headers: dict[str, str] | None = None,
                   **extra: object) -> web.Response:
    """The one JSON error shape of the API."""
    return json_response({"error": message, **extra}, status, headers)


async def read_body(request: web.Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body, at most ``limit`` bytes (BadRequest 413 beyond), received in time
    (408 otherwise). ``content.read(n)`` alone gives only what has arrived so far: a body
    sent in several packets needs a loop."""
    chunks, size = [], 0
    timeout = max(BODY_TIMEOUT_S, limit / BODY_MIN_RATE)  # larger bodies get longer
    try:
        async with asyncio.timeout(timeout):
            while size <= limit:
                chunk = await request.content.read(limit + 1 - size)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
    except TimeoutError:  # a client trickling a body must not hold a handler for ever
        raise BadRequest(f"request body not received within {timeout:g} s", status=408) from None
    if size > limit:
        raise BadRequest(f"request body larger than {limit} bytes", too_large=True)
    return b"".join(chunks)


async def read_json_body(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object ({} when empty); BadRequest otherwise."""
    raw = await read_body(request)
    if not raw.strip():
        return {}
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("request body is not JSON") from None
    if not isinstance(doc, dict):
        raise BadRequest("request body must be a JSON object")
    return doc


def int_param(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    """A query integer in ``lo..hi`` (``default`` when absent); BadRequest says what is
    wrong otherwise (not a whole number, NaN, out of range)."""
    text = request.query.get(name)
    if text is None:
        return default
    if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 12:
        raise BadRequest(f"{name} must be a whole number in {lo}..{hi}, not {text[:40]!r}")
    value = int(text)
    if not lo <= value <= hi:
        raise BadRequest(f"{name} must be in {lo}..{hi}, not {value}")
    return value
