"""Wiring of the public API: middlewares (errors, token, body size), reports, OpenAPI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from streamproc.web import middleware, openapi, reports

if TYPE_CHECKING:
    from streamproc.app import Pipeline


def register(pipeline: Pipeline) -> None:
    middleware.install(pipeline)
    reports.register(pipeline)
    openapi.register(pipeline)
