"""The worker's HTTP API and dashboard: plain aiohttp views, no topics, tables or agents.

Each module adds its routes with ``add_routes(router)``; every view reads the worker's
runtime through :func:`streamproc.web.http.pipeline_of`. ``streamproc.worker.app`` calls
:func:`install` on the aiohttp application Faust serves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from streamproc.web import (
    access,
    alerts,
    events,
    fleet,
    health,
    internal,
    live,
    middleware,
    openapi,
    prometheus,
    report_api,
    stores,
)
from streamproc.web.http import PIPELINE

if TYPE_CHECKING:
    from streamproc.worker.pipeline import Pipeline

MODULES = (access, health, report_api, events, openapi, internal, stores, alerts, fleet, live,
           prometheus)


def install(web_app: web.Application, pipeline: Pipeline) -> None:
    """Middlewares (errors, token, body size) and every route, before the server starts."""
    web_app[PIPELINE] = pipeline
    settings = pipeline.settings
    middleware.install(web_app, access.Access.from_settings(settings),
                       body_limits={"/events": settings.events_max_bytes})
    for module in MODULES:
        module.add_routes(web_app.router)
