"""Calls to the other workers of the same app over HTTP.

Each worker's web server is reachable at its canonical URL; Faust's partition assignor says
which URL holds which partitions of a table (``app.router.table_metadata``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import faust
import orjson

log = logging.getLogger("streamproc.worker.peers")


class PeerError(ConnectionError):
    """A peer worker could not answer; the caller decides whether that is fatal."""


def peer_urls(app: faust.App, table: str, me: str) -> list[str]:
    """Canonical URLs of the workers other than ``me`` that hold partitions of ``table``."""
    try:
        hosts = app.router.table_metadata(table)
    except (KeyError, AttributeError):
        return []
    return sorted({str(h).rstrip("/") for h in hosts} - {me})


async def post_all(app: faust.App, urls: list[str], path: str, body: dict[str, Any],
                   timeout: float, headers: dict[str, str]) -> dict[str, dict]:
    """POST ``body`` to ``path`` on every URL; all must answer 200 or PeerError is raised."""
    data = orjson.dumps(body)
    headers = {"Content-Type": "application/json", **headers}

    async def one(url: str) -> tuple[str, dict]:
        try:
            async with app.http_client.post(url + path, data=data, headers=headers,
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


async def get_each(app: faust.App, urls: list[str], path_qs: str, headers: dict[str, str],
                   timeout: float) -> list[dict]:
    """GET ``path_qs`` from every URL; the JSON answers of those that answered 200."""

    async def one(url: str) -> dict | None:
        try:
            status, body, _ = await request(app, "GET", url + path_qs, headers, None, timeout)
        except PeerError as exc:  # a missing peer only narrows the figures
            log.warning("%s", exc)
            return None
        if status != 200:
            log.warning("peer %s answered %s for %s", url, status, path_qs.split("?")[0])
            return None
        return orjson.loads(body)

    results = await asyncio.gather(*(one(u) for u in urls))
    return [r for r in results if r is not None]


async def request(app: faust.App, method: str, url: str, headers: dict[str, str],
                  body: bytes | None, timeout: float) -> tuple[int, bytes, dict[str, str]]:
    """One HTTP request to a peer: (status, body, headers); PeerError if unreachable."""
    try:
        async with app.http_client.request(method, url, headers=headers, data=body,
                                           timeout=timeout) as resp:
            return resp.status, await resp.read(), dict(resp.headers)
    except Exception as exc:  # noqa: BLE001 - any transport failure is one kind for us
        raise PeerError(f"{method} {url} unreachable: {exc}") from exc
