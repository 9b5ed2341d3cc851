"""aiohttp middlewares for every route of the worker's web server (ours and Faust's).

Installed once by :func:`install`, so views registered later (the dashboard, metrics) get
them too:

* **errors**: every error leaves as a small JSON body ``{"error": ...}`` with the right
  status (404 unknown route, 405 bad method with ``Allow``, 413 body too large); an
  unexpected exception is logged and answered ``500 {"error": "internal error"}`` rather
  than aiohttp's HTML page.
* **access control** (:mod:`streamproc.web.access`): operator and owner tokens, session
  cookies, the peer secret on ``/internal/*``; 401 / 403 / 404 as
  :mod:`streamproc.core.access` decides.
* **body size**: a declared ``Content-Length`` above :data:`MAX_BODY_BYTES` is refused with
  413 before anything reads the body.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from streamproc.web import parse_errors
from streamproc.web.access import ACCESS, Access, make_middleware
from streamproc.web.http import MAX_BODY_BYTES, error_response

log = logging.getLogger("streamproc.web")

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


def install(web_app: web.Application, acc: Access,
            body_limits: dict[str, int] | None = None) -> None:
    """Add the middlewares to the aiohttp application (before it starts)."""
    web_app[ACCESS] = acc
    parse_errors.install()  # aiohttp's own 400s log no traceback
    # Outermost: it sees auth's answers too.
    web_app.middlewares.append(make_error_middleware(body_limits))
    web_app.middlewares.append(make_middleware(acc))
