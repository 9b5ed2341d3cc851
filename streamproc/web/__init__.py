"""HTTP views served by the Faust worker's aiohttp web server."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from streamproc.app import Pipeline


def register_views(pipeline: Pipeline) -> None:
    """Attach every route to the pipeline's Faust app."""
    from streamproc.web import api, health, live

    health.register(pipeline)
    api.register(pipeline)  # report API, OpenAPI, error/auth middlewares
    live.register(pipeline)  # dashboard, /stores/{id}, /fleet, /live, /metrics, outage alerts
