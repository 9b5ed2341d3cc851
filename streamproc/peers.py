"""Every HTTP call from one worker to another, with one error type: :class:`PeerError`.

Workers ask each other for their part of a snapshot (``/internal/*``, :func:`post_all`), for
figures (:func:`get_each`) and pass on a client's request to the worker that holds what it
is about (:func:`forward`). Which worker holds what is the cluster's business
(``worker/cluster.py``); this module only talks HTTP, so both the worker and the web views
use it and catch the same error.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import orjson

log = logging.getLogger("streamproc.peers")
# Response headers a forwarded answer passes back to the client.
FORWARD_HEADERS = ("content-type", "content-disposition", "x-report-status", "retry-after",
                   "www-authenticate", "allow")


class PeerError(ConnectionError):
    """A peer worker could not answer; the caller decides whether that is fatal."""


async def post_all(session: aiohttp.ClientSession, urls: list[str], path: str,
                   body: dict[str, Any], timeout: float,
                   headers: dict[str, str]) -> dict[str, dict]:
    """POST ``body`` to ``path`` on every URL; all must answer 200 or PeerError is raised."""
    data = orjson.dumps(body)
    headers = {"Content-Type": "application/json", **headers}

    async def one(url: str) -> tuple[str, dict]:
        try:
            async with session.post(url + path, data=data, headers=headers,
                                    timeout=timeout) as resp:
                payload = await resp.read()
                if resp.status != 200:
                    raise PeerError(f"{url}{path} answered {resp.status}: {payload[:200]!r}")
                return url, orjson.loads(payload)
        except PeerError:
            raise
        except Exception as exc:  # noqa: BLE001 - any transport failure is one kind for us
            raise PeerError(f"{url}{path} unreachable: {exc}") from exc

    return dict(await asyncio.gather(*(one(u) for u in urls)))


async def get_each(session: aiohttp.ClientSession, urls: list[str], path_qs: str,
                   headers: dict[str, str], timeout: float) -> list[dict]:
    """GET ``path_qs`` from every URL; the JSON answers of those that answered 200."""

    async def one(url: str) -> dict | None:
        try:
            status, body, _ = await request(session, "GET", url + path_qs, headers, None, timeout)
        except PeerError as exc:  # a missing peer only narrows the figures
            log.warning("%s", exc)
            return None
        if status != 200:
            log.warning("peer %s answered %s for %s", url, status, path_qs.split("?")[0])
            return None
        return orjson.loads(body)

    results = await asyncio.gather(*(one(u) for u in urls))
    return [r for r in results if r is not None]


async def request(session: aiohttp.ClientSession, method: str, url: str, headers: dict[str, str],
                  body: bytes | None, timeout: float) -> tuple[int, bytes, dict[str, str]]:
    """One HTTP request to a peer: (status, body, headers); PeerError if unreachable."""
    try:
        async with session.request(method, url, headers=headers, data=body,
                               timeout=timeout) as resp:
            return resp.status, await resp.read(), dict(resp.headers)
    except Exception as exc:  # noqa: BLE001 - any transport failure is one kind for us
        raise PeerError(f"{method} {url} unreachable: {exc}") from exc


async def forward(session: aiohttp.ClientSession, method: str, url: str,
                  headers: dict[str, str], body: bytes | None,
                  timeout: float) -> tuple[int, bytes, dict[str, str]]:
    """A client's request passed on to another worker: (status, body, the headers to pass
    back to the client); PeerError if that worker could not be reached."""
    status, data, got = await request(session, method, url, headers, body, timeout)
    return status, data, {k: v for k, v in got.items() if k.lower() in FORWARD_HEADERS}
