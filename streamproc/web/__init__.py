"""HTTP views served by the Faust worker's aiohttp web server."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from streamproc.worker.app import Pipeline


def register_views(pipeline: Pipeline) -> None:
    """Attach every route to the pipeline's Faust app."""
    from streamproc.web import api, health, internal, live

    health.register(pipeline)
    api.register(pipeline)  # report API, OpenAPI, error/auth middlewares
    internal.register(pipeline)  # worker-to-worker report assembly
    live.register(pipeline)  # dashboard, /stores/{id}, /fleet, /live, /metrics, outage alerts
