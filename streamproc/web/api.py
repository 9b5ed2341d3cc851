"""Wiring of the public API: middlewares (errors, token, body size), reports, OpenAPI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from streamproc.web import middleware, openapi, report_api

if TYPE_CHECKING:
    from streamproc.worker.app import Pipeline


def register(pipeline: Pipeline) -> None:
    middleware.install(pipeline)
    report_api.register(pipeline)
    openapi.register(pipeline)
