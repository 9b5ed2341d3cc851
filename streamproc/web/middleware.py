"""aiohttp middlewares for every route of the worker's web server (ours and Faust's).

Installed once by :func:`install`, so views registered later (the dashboard, metrics) get
them too:

* **errors**: every error leaves as a small JSON body ``{"error": ...}`` with the right
  status (404 unknown route, 405 bad method with ``Allow``, 413 body too large); an
  unexpected exception is logged and answered ``500 {"error": "internal error"}`` rather
  than aiohttp's HTML page.
* **access control**: when ``STREAMPROC_API_TOKEN`` is set, every route except the ones in
  :data:`PUBLIC_PATHS` needs ``Authorization: Bearer <token>`` (401 otherwise); with
  ``STREAMPROC_PEER_SECRET`` set, ``/internal/*`` (worker to worker) needs that secret
  instead, and the client token does not open it.
* **body size**: a declared ``Content-Length`` above :data:`MAX_BODY_BYTES` is refused with
  413 before anything reads the body.
"""

from __future__ import annotations

import asyncio
import hmac
import logging

from aiohttp import web

from streamproc.web.http import MAX_BODY_BYTES, error_response

log = logging.getLogger("streamproc.web")

PUBLIC_PATHS = frozenset({"/health", "/"})  # the dashboard page holds no data
PUBLIC_PREFIXES = ("/static/",)  # its script and style
_DROP_HEADERS = {"content-type", "content-length"}




def _from_http_exception(exc: web.HTTPException) -> web.Response:
    headers = {k: v for k, v in exc.headers.items() if k.lower() not in _DROP_HEADERS}
    return error_response(exc.status, exc.reason or "error", headers)


def make_error_middleware(body_limits: dict[str, int] | None = None):
    """``body_limits``: paths allowed a larger body than :data:`MAX_BODY_BYTES`."""
    limits = body_limits or {}

    @web.middleware
    async def errors(request: web.Request, handler) -> web.StreamResponse:
        length = request.content_length
        limit = limits.get(request.path, MAX_BODY_BYTES)
        if length is not None and length > limit:
            return error_response(413, f"request body larger than {limit} bytes")
        try:
            return await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise  # redirects and the like pass through
            return _from_http_exception(exc)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("unhandled error in %s %s", request.method, request.path)
            return error_response(500, "internal error")

    return errors


INTERNAL_PREFIX = "/internal/"
UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="streamproc"'}


def _bearer(request: web.Request, allow_query: bool) -> bytes:
    given = request.headers.get("Authorization", "")
    if not given and allow_query and "access_token" in request.query:  # EventSource, links
        given = f"Bearer {request.query['access_token']}"
    return given.encode("utf-8", "replace")


def make_auth_middleware(token: str | None, peer_secret: str | None):
    """Client routes need ``token`` (when set); ``/internal/*`` (worker to worker) needs the
    peer secret when one is set, else the token: a client token never opens it then."""
    client = f"Bearer {token}".encode() if token else None
    peer = f"Bearer {peer_secret}".encode() if peer_secret else client

    @web.middleware
    async def auth(request: web.Request, handler) -> web.StreamResponse:
        path = request.path
        internal = path.startswith(INTERNAL_PREFIX)
        expected = peer if internal else client
        public = path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)
        if expected is not None and not public and not hmac.compare_digest(
                _bearer(request, allow_query=not internal), expected):
            what = "peer secret" if internal and peer_secret else "bearer token"
            return error_response(401, f"missing or wrong {what}", UNAUTHORIZED)
        return await handler(request)

    return auth


def install(web_app: web.Application, api_token: str | None,
            peer_secret: str | None = None, body_limits: dict[str, int] | None = None) -> None:
    """Add the middlewares to the aiohttp application (before it starts)."""
    # Outermost: it sees auth's answers too.
    web_app.middlewares.append(make_error_middleware(body_limits))
    if api_token or peer_secret:
        web_app.middlewares.append(make_auth_middleware(api_token, peer_secret))
