"""`GET /health` (liveness and readiness), `GET /health/live` and `GET /health/ready` (the
probes an orchestrator calls) and `GET /snapshot.csv` (a synchronous report for the CLI and
tests).

Live: the process answers (restart it if not). Ready: it will accept a report trigger now
(``Pipeline.not_ready``); during start-up and every rebalance it is live but not ready, so a
load balancer or a script waits instead of getting 503 from ``/trigger_report``."""

from __future__ import annotations

import io

from aiohttp import web

from streamproc.core.report_rows import write_csv
from streamproc.core.timeparse import parse_timestamp, to_iso
from streamproc.web.http import error_response, json_response, pipeline_of


async def health(request: web.Request) -> web.Response:
    pipeline = pipeline_of(request)
    stats, now = pipeline.stats, pipeline.watermark_now()
    not_ready = pipeline.cluster.not_ready()
    return json_response({
        "status": "ok",
        "ready": not_ready is None,
        "not_ready": not_ready,
        "watermark": to_iso(now) if now is not None else None,
        "stores_live": pipeline.stores_live(),
        "polls_applied": stats.polls,
        "messages": dict(stats.messages),
        "rejected": sum(stats.rejected.values()),
        "assigned_partitions": len(pipeline.cluster.assigned()),
        "recovering": pipeline.cluster.recovering(),
    })


async def live(request: web.Request) -> web.Response:
    """200 while the worker's event loop answers."""
    return json_response({"live": True})


async def ready(request: web.Request) -> web.Response:
    """200 when a report trigger would be accepted now; 503 with the reason otherwise."""
    not_ready = pipeline_of(request).cluster.not_ready()
    if not_ready is not None:
        return json_response({"ready": False, "not_ready": not_ready}, status=503,
                             headers={"Retry-After": "1"})
    return json_response({"ready": True, "not_ready": None})


async def snapshot_csv(request: web.Request) -> web.Response:
    as_of_text = request.query.get("as_of")
    try:
        if as_of_text == "":
            raise ValueError("empty (give a UTC time or leave as_of out)")
        as_of = parse_timestamp(as_of_text) if as_of_text is not None else None
    except ValueError as exc:
        return error_response(400, f"bad as_of: {exc}")
    try:
        snap = await pipeline_of(request).cluster.snapshot(as_of=as_of)
    except TimeoutError as exc:  # SnapshotTimeout
        return error_response(503, str(exc))
    buf = io.StringIO()
    write_csv(snap.rows, buf)
    headers = {
        "X-Snapshot-Now": to_iso(snap.now_us) if snap.now_us is not None else "",
        "X-Snapshot-Seconds": f"{snap.waited_s + snap.computed_s:.3f}",
    }
    return web.Response(text=buf.getvalue(), content_type="text/csv", headers=headers)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/health", health)
    router.add_get("/health/live", live)
    router.add_get("/health/ready", ready)
    router.add_get("/snapshot.csv", snapshot_csv)
