"""Faust's aiohttp server, made to serve streamproc's plain aiohttp views."""

from __future__ import annotations

from typing import Any

import faust
from aiohttp import web

# (object, attribute) pairs this module relies on; see tests/unit/worker/test_faust_compat.py.
PRIVATE_APIS: tuple[tuple[Any, str], ...] = ()
# Attributes Faust sets on its objects at run time: (path from the app, attribute); the test
# builds an app and looks for each.
APP_ATTRIBUTES: tuple[tuple[str, str], ...] = (("web", "_runner"), ("web", "web_app"))


# Seconds a stopping server waits for requests in progress (a /live stream, a peer's
# catch-up wait) before cancelling them. aiohttp's default, 60 s, outlasts the 30 s an
# orchestrator (and `streamproc soak`) gives a worker between SIGTERM and SIGKILL.
SHUTDOWN_GRACE_S = 3.0


def configure_web_server(app: faust.App, idle_timeout_s: float) -> None:
    """Faust builds its aiohttp ``AppRunner`` (``Web._runner``) with aiohttp's defaults: a
    connection that sends nothing, or stays idle between requests, is kept 3,630 s, so idle
    clients could hold every file descriptor (shared with RocksDB and Kafka). Replace it,
    before the server starts, with one that closes such connections after ``idle_timeout_s``
    (aiohttp starts that timer on connect too, so it also bounds the wait for the headers),
    and that stops within :data:`SHUTDOWN_GRACE_S`: with aiohttp's 60 s, one open ``/live``
    stream kept a worker told to stop (SIGTERM) running until it was killed."""
    driver = app.web
    driver._runner = web.AppRunner(driver.web_app, access_log=None,
                                   keepalive_timeout=idle_timeout_s,
                                   shutdown_timeout=SHUTDOWN_GRACE_S)


def web_application(app: faust.App) -> web.Application:
    """The aiohttp application behind Faust's web server (routes added before it starts)."""
    return app.web.web_app
