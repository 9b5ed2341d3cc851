"""`GET /live`: outage events as Server-Sent Events, and the dashboard (`GET /` and its
static files). See docs/monitoring.md."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import orjson
from aiohttp import web

from streamproc.web.access import principal_of, still_signed_in
from streamproc.web.http import error_response, pipeline_of

STATIC_DIR = Path(__file__).parent / "static"
KEEPALIVE_S = 15.0
SESSION_CHECK_S = 1.0  # how soon a stream ends after its session cookie does
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
    """Every outage event published after the client connected, until it goes, is slow, or
    its session cookie expires or stops being valid."""
    feed = pipeline_of(request).monitor.feed
    principal = principal_of(request)
    try:
        sub = await feed.subscribe(principal.key, capped=not principal.is_operator)
    except ConnectionError as exc:  # monitoring.TooManyClients / TooManyOfYours
        status = 429 if getattr(exc, "callers_own", False) else 503
        return error_response(status, f"{exc}; retry later", {"Retry-After": "30"})
    resp = web.StreamResponse(headers=SSE_HEADERS)
    try:
        await resp.prepare(request)
        await resp.write(b"retry: 2000\nevent: ready\ndata: {}\n\n")
        stores = None if principal.is_operator else principal.stores
        await _stream(resp, sub, stores, lambda: still_signed_in(request))
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


async def _stream(resp: web.StreamResponse, sub, stores: frozenset[str] | None,
                  signed_in: Callable[[], bool]) -> None:
    """Write events (only those of ``stores`` when given: an owner's stream) until the
    client goes, falls behind, or ``signed_in`` turns False (then an ``end`` event)."""
    quiet_since = time.monotonic()
    while True:
        if not signed_in():
            await resp.write(b'event: end\ndata: {"reason": "session ended"}\n\n')
            return
        try:
            offset, value = await asyncio.wait_for(sub.queue.get(), SESSION_CHECK_S)
        except TimeoutError:
            if sub.dropped:
                return
            if time.monotonic() - quiet_since >= KEEPALIVE_S:
                await resp.write(b": keepalive\n\n")
                quiet_since = time.monotonic()
            continue
        if stores is not None and _store_of(value) not in stores:
            continue
        await resp.write(b"id: %d\nevent: outage\ndata: %s\n\n" % (offset, value))
        quiet_since = time.monotonic()
        if sub.dropped and sub.queue.empty():
            return


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/", dashboard)
    router.add_static("/static/", STATIC_DIR)
    router.add_get("/live", live)
