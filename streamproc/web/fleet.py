"""`GET /fleet` and `GET /fleet/hourly`: fleet figures, merged from every worker's share
(each worker answers ``?scope=local`` with its own stores)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from streamproc.core.records import US_PER_HOUR
from streamproc.web.access import caller_headers, principal_of
from streamproc.web.http import (
    BadRequest,
    error_response,
    int_param,
    json_response,
    pipeline_of,
)
from streamproc.web.stores import _iso, report_values

WINDOW_NAMES = ("hour", "day", "week")
MAX_LIMIT = 1000


def fleet_json(now: int | None, rows: list[tuple], limit: int, query: str,
               sort: str) -> dict[str, Any]:
    """Fleet totals and the worst ``limit`` stores (matching ``query``) from fleet rows."""
    up = [0, 0, 0]
    down = [0, 0, 0]
    down_now = down_open = observed = 0
    for row in rows:
        for i in range(3):
            up[i] += row[3 + i]
            down[i] += row[6 + i]
        if row[1] is not None:
            observed += 1
        if row[1] == "inactive":
            down_now += 1
            if row[2]:
                down_open += 1
    k = WINDOW_NAMES.index(sort) if sort in WINDOW_NAMES else 2
    matching = [r for r in rows if query in r[0]] if query else rows

    def badness(r: tuple) -> tuple:
        total = r[3 + k] + r[6 + k]
        return (-(r[6 + k] / total) if total else 0.0, -r[6 + k], r[0])

    worst = sorted(matching, key=badness)[:limit]
    return {
        "watermark": _iso(now),
        "watermark_us": now,
        "stores": len(rows),
        "stores_observed": observed,
        "down_now": down_now,
        "down_open_now": down_open,
        "windows": {
            name: {"up_s": up[i] / 1e6, "down_s": down[i] / 1e6,
                   "uptime": (up[i] / (up[i] + down[i])) if up[i] + down[i] else None}
            for i, name in enumerate(WINDOW_NAMES)
        },
        "matching": len(matching),
        "worst": [_row_json(r) for r in worst],
        "workers": 1,
    }


def _row_json(r: tuple) -> dict[str, Any]:
    shown, _ = report_values(r[3:9])
    total = r[5] + r[8]
    return {"store_id": r[0], "status": r[1], "open_now": r[2], **shown,
            "uptime_ratio_week": (r[5] / total) if total else None}


def merge_fleet(parts: list[dict[str, Any]], limit: int, sort: str) -> dict[str, Any]:
    """Combine the local fleet figures of several workers."""
    out = dict(parts[0])
    for key in ("stores", "stores_observed", "down_now", "down_open_now", "matching"):
        out[key] = sum(p[key] for p in parts)
    marks = [p["watermark_us"] for p in parts if p["watermark_us"] is not None]
    out["watermark_us"] = max(marks) if marks else None
    out["watermark"] = _iso(out["watermark_us"])
    windows = {}
    for name in WINDOW_NAMES:
        u = sum(p["windows"][name]["up_s"] for p in parts)
        d = sum(p["windows"][name]["down_s"] for p in parts)
        windows[name] = {"up_s": u, "down_s": d, "uptime": (u / (u + d)) if u + d else None}
    out["windows"] = windows
    field = {"hour": ("uptime_last_hour", "downtime_last_hour"),
             "day": ("uptime_last_day", "downtime_last_day")}.get(
                 sort, ("uptime_last_week", "downtime_last_week"))

    def badness(r: dict) -> tuple:
        total = r[field[0]] + r[field[1]]
        return (-(r[field[1]] / total) if total else 0.0, -r[field[1]], r["store_id"])

    out["worst"] = sorted((r for p in parts for r in p["worst"]), key=badness)[:limit]
    out["workers"] = len(parts)
    return out


def merge_hourly(parts: list[dict[str, Any]]) -> dict[str, Any]:
    base = max(parts, key=lambda p: p["start_hour_us"] or 0)
    out = dict(base)
    if base["start_hour_us"] is None:
        return out
    ups = [0.0] * base["hours"]
    downs = [0.0] * base["hours"]
    for p in parts:
        if p["start_hour_us"] is None:
            continue
        shift = (p["start_hour_us"] - base["start_hour_us"]) // US_PER_HOUR
        for k, (u, d) in enumerate(zip(p["up_s"], p["down_s"], strict=True)):
            j = k + shift
            if 0 <= j < len(ups):
                ups[j] += u
                downs[j] += d
    out["up_s"], out["down_s"] = ups, downs
    out["workers"] = len(parts)
    return out


async def fleet(request: web.Request) -> web.Response:
    try:
        limit = int_param(request, "limit", 50, 0, MAX_LIMIT)
    except BadRequest as exc:
        return error_response(exc.status, str(exc))
    query = request.query.get("q", "").strip()
    sort = request.query.get("sort", "week")
    pipeline = pipeline_of(request)
    now, rows = await pipeline.monitor.fleet.rows()
    principal = principal_of(request)
    if not principal.is_operator:  # an owner's fleet is their stores
        rows = [r for r in rows if r[0] in principal.stores]
    doc = fleet_json(now, rows, limit, query, sort)
    try:
        peers = await _ask_peers(request)
    except LookupError as exc:  # other workers, but no peer secret to ask them with
        return error_response(503, str(exc))
    return json_response(merge_fleet([doc, *peers], limit, sort) if peers else doc)


async def fleet_hourly(request: web.Request) -> web.Response:
    try:
        hours = int_param(request, "hours", 7 * 24, 1, 8 * 24)
    except BadRequest as exc:
        return error_response(exc.status, str(exc))
    principal = principal_of(request)
    stores = None if principal.is_operator else principal.stores
    doc = dict(await pipeline_of(request).monitor.fleet.hourly(hours, stores))
    try:
        peers = await _ask_peers(request)
    except LookupError as exc:  # other workers, but no peer secret to ask them with
        return error_response(503, str(exc))
    return json_response(merge_hourly([doc, *peers]) if peers else doc)


async def _ask_peers(request: web.Request) -> list[dict]:
    """The same request, ``scope=local``, to every other worker (none for a local one)."""
    if request.query.get("scope") == "local":
        return []
    url = request.rel_url.update_query(scope="local")
    cluster = pipeline_of(request).cluster
    if not cluster.peer_urls():
        return []
    headers = caller_headers(request, "GET", url.path)  # LookupError: no peer secret
    return await cluster.ask_peers(str(url), headers)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/fleet", fleet)
    router.add_get("/fleet/hourly", fleet_hourly)
