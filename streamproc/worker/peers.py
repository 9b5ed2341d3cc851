"""Calls to the other workers of the same app, found through Faust's partition assignor.

Each worker's web server is reachable at its canonical URL; the assignor's table metadata
says which URL holds which ``store-state`` partitions.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from streamproc.worker.app import Pipeline

STATE_TABLE = "store-state"


class PeerError(RuntimeError):
    """A peer worker could not answer; the caller decides whether that is fatal."""


def own_url(pipeline: Pipeline) -> str:
    return str(pipeline.app.conf.canonical_url).rstrip("/")


def peer_urls(pipeline: Pipeline) -> list[str]:
    """Canonical URLs of the other workers that hold store-state partitions."""
    try:
        hosts = pipeline.app.router.table_metadata(STATE_TABLE)
    except (KeyError, AttributeError):
        return []
    me = own_url(pipeline)
    return sorted({str(h).rstrip("/") for h in hosts} - {me})


def auth_headers(pipeline: Pipeline) -> dict[str, str]:
    token = pipeline.settings.api_token
    return {"Authorization": f"Bearer {token}"} if token else {}


async def post_all(
    pipeline: Pipeline, path: str, body: dict[str, Any], timeout: float
) -> dict[str, dict]:
    """POST ``body`` to ``path`` on every peer; all must answer 200 or PeerError is raised."""
    client = pipeline.app.http_client
    headers = {"Content-Type": "application/json", **auth_headers(pipeline)}
    data = orjson.dumps(body)

    async def one(url: str) -> tuple[str, dict]:
        try:
            async with client.post(url + path, data=data, headers=headers,
                                   timeout=timeout) as resp:
                payload = await resp.read()
                if resp.status != 200:
                    raise PeerError(f"{url}{path} answered {resp.status}: {payload[:200]!r}")
                return url, orjson.loads(payload)
        except PeerError:
            raise
        except Exception as exc:  # noqa: BLE001 - any transport failure is one kind for us
            raise PeerError(f"{url}{path} unreachable: {exc}") from exc

    return dict(await asyncio.gather(*(one(u) for u in peer_urls(pipeline))))
