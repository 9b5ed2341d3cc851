"""`GET /stores/{store_id}`: one store's live state, answered by the worker that holds it
(a request to another worker is forwarded there); with what its numbers rest on, and with
``?week=1`` the last 7 days the store page draws (``streamproc.web.store_detail``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from streamproc.core.records import DEFAULT_TIMEZONE, US_PER_HOUR, US_PER_MINUTE, is_valid_store_id
from streamproc.core.report_rows import round_half_up
from streamproc.core.timeparse import to_iso
from streamproc.web.forwarding import to_owner
from streamproc.web.http import error_response, json_response, pipeline_of
from streamproc.web.store_detail import detail_json

if TYPE_CHECKING:
    from streamproc.worker.pipeline import Pipeline

FIELDS = (
    "uptime_last_hour", "uptime_last_day", "uptime_last_week",
    "downtime_last_hour", "downtime_last_day", "downtime_last_week",
)
UNITS = (US_PER_MINUTE, US_PER_HOUR, US_PER_HOUR) * 2


def _iso(ts: int | None) -> str | None:
    return None if ts is None else to_iso(ts)


def report_values(values) -> tuple[dict[str, float], dict[str, float]]:
    """The six values as the report prints them (minutes / hours) and in raw seconds."""
    shown = {f: float(round_half_up(v, u)) for f, v, u in zip(FIELDS, values, UNITS, strict=True)}
    seconds = {f: v / 1e6 for f, v in zip(FIELDS, values, strict=True)}
    return shown, seconds


def store_json(pipeline: Pipeline, store_id: str, week: bool = False) -> dict[str, Any] | None:
    """The live state of one store held by this worker, or None if it does not know it."""
    state = pipeline.store_state(store_id)
    if state is None:
        return None
    now = pipeline.watermark_now()
    latest = run = None
    values = (0,) * 6
    open_now = None
    if now is not None:
        latest = state.latest_observation(now)
        run = state.status_since(now)
        values = state.values(now)
        open_now = state.is_open(now)
    shown, seconds = report_values(values)
    return {
        "store_id": store_id,
        "status": None if latest is None else ("active" if latest[1] else "inactive"),
        "since": _iso(run[0]) if run else None,
        "since_us": run[0] if run else None,
        "last_observation": _iso(latest[0]) if latest else None,
        "last_poll": _iso(state.last_poll_us),
        "last_poll_us": state.last_poll_us,
        "timezone": state.tz or DEFAULT_TIMEZONE,
        "timezone_is_default": state.tz is None,
        "has_business_hours": state.hours is not None,
        "open_now": open_now,
        "watermark": _iso(now),
        "watermark_us": now,
        "report": shown,
        "report_seconds": seconds,
        **detail_json(state, now, week),
        # the last 8 weeks, oldest first, the current one week to date (core/trends.py)
        "trend": pipeline.trends.trend(store_id, state, now) if pipeline.trends else [],
        "alerts_on": pipeline.monitor.alerting is not None,  # /stores/{id}/alerts answers
        "served_by": pipeline.cluster.own_url() + "/",
    }


async def store(request: web.Request) -> web.Response:
    store_id = request.match_info["store_id"]
    if not is_valid_store_id(store_id):
        return error_response(400, f"invalid store id {store_id[:80]!r}")
    week = request.query.get("week", "0")
    if week not in ("0", "1"):
        return error_response(400, "week must be 0 or 1")
    pipeline = pipeline_of(request)
    forwarded = await to_owner(request, lambda: pipeline.cluster.store_owner(store_id))
    if forwarded is not None:
        return forwarded
    doc = store_json(pipeline, store_id, week == "1")
    if doc is None:
        return error_response(404, f"unknown store {store_id}")
    return json_response(doc)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/stores/{store_id}", store)
