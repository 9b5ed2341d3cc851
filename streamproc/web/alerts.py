"""`GET /stores/{store_id}/alerts`: a store's alert history, each delivery's outcome (sent,
failed after its retries, muted) with its channel masked; answered by the worker holding the
alerts (``outage-alerts`` has one partition), forwarded there from any other. Owners reach
it for their stores only (the access middleware's store check, as ``/stores/{id}``)."""

from __future__ import annotations

from aiohttp import web

from streamproc.core.records import is_valid_store_id
from streamproc.web.forwarding import to_owner
from streamproc.web.http import error_response, json_response, pipeline_of


async def store_alerts(request: web.Request) -> web.Response:
    store_id = request.match_info["store_id"]
    if not is_valid_store_id(store_id):
        return error_response(400, f"invalid store id {store_id[:80]!r}")
    pipeline = pipeline_of(request)
    if pipeline.monitor.alerting is None:
        return error_response(404, "alerts are off (no STREAMPROC_CHANNELS_FILE or "
                                   "STREAMPROC_ALERT_WEBHOOK)")
    forwarded = await to_owner(request, pipeline.cluster.alerts_owner)
    if forwarded is not None:
        return forwarded
    history = pipeline.monitor.alert_history(store_id) or []
    return json_response({"store_id": store_id, "alerts": history[::-1],
                          "served_by": pipeline.cluster.own_url() + "/"})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/stores/{store_id}/alerts", store_alerts)
