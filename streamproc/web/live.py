"""`GET /live`: outage events as Server-Sent Events, and the dashboard (`GET /` and its
static files). See docs/monitoring.md."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
from aiohttp import web

from streamproc.web.access import principal_of
from streamproc.web.http import error_response, pipeline_of

STATIC_DIR = Path(__file__).parent / "static"
KEEPALIVE_S = 15.0
SSE_HEADERS = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
}


async def dashboard(request: web.Request) -> web.Response:
    html = (STATIC_DIR / "index.html").read_text()
    return web.Response(text=html, content_type="text/html",
                        headers={"Cache-Control": "no-cache"})


async def live(request: web.Request) -> web.StreamResponse:
    """Every outage event published after the client connected, until it goes or is slow."""
    feed = pipeline_of(request).monitor.feed
    try:
        sub = await feed.subscribe()
    except ConnectionError as exc:  # monitoring.TooManyClients
        return error_response(503, f"{exc}; retry later", {"Retry-After": "30"})
    resp = web.StreamResponse(headers=SSE_HEADERS)
    try:
        await resp.prepare(request)
        await resp.write(b"retry: 2000\nevent: ready\ndata: {}\n\n")
        principal = principal_of(request)
        await _stream(resp, sub, None if principal.is_operator else principal.stores)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        feed.unsubscribe(sub)
    return resp


def _store_of(value: bytes) -> str | None:
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return str(doc.get("store_id")) if isinstance(doc, dict) else None


async def _stream(resp: web.StreamResponse, sub, stores: frozenset[str] | None) -> None:
    """Write events (only those of ``stores`` when given: an owner's stream) until the
    client goes or falls behind."""
    while True:
        try:
            offset, value = await asyncio.wait_for(sub.queue.get(), KEEPALIVE_S)
        except TimeoutError:
            if sub.dropped:
                return
            await resp.write(b": keepalive\n\n")
            continue
        if stores is not None and _store_of(value) not in stores:
            continue
        await resp.write(b"id: %d\nevent: outage\ndata: %s\n\n" % (offset, value))
        if sub.dropped and sub.queue.empty():
            return


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/", dashboard)
    router.add_static("/static/", STATIC_DIR)
    router.add_get("/live", live)
