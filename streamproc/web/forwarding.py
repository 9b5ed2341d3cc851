"""Passing a client's request on to the worker that holds what it is about (its store, or
the report partition), so every worker gives the same answer.

The request passed on carries its caller signed with the peer secret
(:mod:`streamproc.core.peer_caller`), never the client's ``Authorization`` or ``Cookie``:
the address it goes to is whatever the consumer group's metadata advertises.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiohttp import web
from yarl import URL

from streamproc.peers import PeerError
from streamproc.web.access import caller_headers
from streamproc.web.http import FORWARDED, BadRequest, error_response, pipeline_of, read_body

log = logging.getLogger("streamproc.web.forwarding")


async def to_owner(request: web.Request, owner: Callable[[], str | None],
                   as_get: str | None = None) -> web.Response | None:
    """None when this worker holds what the request is about (it answers); otherwise the
    answer of the worker that does, so every worker gives the same answer.

    ``owner()`` gives that worker's URL (None: this one) or raises LookupError while nobody
    holds it. A request already forwarded once is never forwarded again (no loops while the
    partitions move): it gets 503 and the client retries."""
    try:
        url = owner()
    except LookupError as exc:
        return error_response(503, str(exc), {"Retry-After": "2"})
    if url is None:
        return None
    if request.headers.get(FORWARDED):
        return error_response(503, "partitions are moving between workers; retry",
                              {"Retry-After": "1"})
    method, path_qs, body = "GET", request.path_qs, None
    if as_get is not None:
        path_qs = str(URL(as_get).with_query(request.query))
    else:
        method = request.method
        if request.can_read_body:
            try:
                body = await read_body(request)
            except BadRequest as exc:
                return error_response(exc.status, str(exc))
    try:  # the caller signed with the peer secret, never the client's credentials
        headers = {**caller_headers(request, method, URL(path_qs).path), FORWARDED: "1"}
    except LookupError as exc:
        return error_response(503, str(exc))
    if body is not None and request.content_type:
        headers["Content-Type"] = request.content_type
    try:
        cluster = pipeline_of(request).cluster
        status, data, passed = await cluster.forward(method, url, path_qs, headers, body)
    except PeerError as exc:  # the address stays in the log: clients get no internal URL
        log.warning("passing %s on: %s", request.path, exc)
        return error_response(503, "the worker holding this did not answer; retry",
                              {"Retry-After": "2"})
    return web.Response(body=data, status=status, headers=passed)
