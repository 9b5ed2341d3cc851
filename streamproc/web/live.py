"""Live monitoring routes: the dashboard, one store's live state, fleet figures, the outage
stream as Server-Sent Events and Prometheus metrics. See docs/monitoring.md.

* ``GET /``                   the dashboard (static files in ``streamproc/web/static``)
* ``GET /static/...``         its CSS and script
* ``GET /stores/{store_id}``  one store, answered by the worker owning its partition
* ``GET /fleet``              fleet uptime per window, stores down now, worst stores
* ``GET /fleet/hourly``       fleet up/down business seconds per hour (last week)
* ``GET /live``               outage events as ``text/event-stream``
* ``GET /metrics``            Prometheus text format
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web
from faust.web import Request, Response, View
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from streamproc.core.records import (
    DEFAULT_TIMEZONE,
    US_PER_HOUR,
    US_PER_MINUTE,
    is_valid_store_id,
)
from streamproc.core.report_rows import round_half_up
from streamproc.core.timeparse import to_iso
from streamproc.worker import metrics
from streamproc.worker.monitoring import Monitor, install

if TYPE_CHECKING:
    from streamproc.worker.app import Pipeline

log = logging.getLogger("streamproc.web.live")

STATIC_DIR = Path(__file__).parent / "static"
FIELDS = (
    "uptime_last_hour", "uptime_last_day", "uptime_last_week",
    "downtime_last_hour", "downtime_last_day", "downtime_last_week",
)
UNITS = (US_PER_MINUTE, US_PER_HOUR, US_PER_HOUR) * 2
WINDOW_NAMES = ("hour", "day", "week")
MAX_LIMIT = 1000
KEEPALIVE_S = 15.0
PEER_TIMEOUT_S = 10.0


def _iso(ts: int | None) -> str | None:
    return None if ts is None else to_iso(ts)


def report_values(values) -> tuple[dict[str, float], dict[str, float]]:
    """The six values as the report prints them (minutes / hours) and in raw seconds."""
    shown = {f: float(round_half_up(v, u)) for f, v, u in zip(FIELDS, values, UNITS, strict=True)}
    seconds = {f: v / 1e6 for f, v in zip(FIELDS, values, strict=True)}
    return shown, seconds


def store_json(pipeline: Pipeline, store_id: str) -> dict[str, Any] | None:
    """The live state of one store held by this worker, or None if it does not know it."""
    cache = pipeline.processor.cache
    if cache.table.get(store_id) is None and not cache.is_unsaved(store_id):
        return None
    state = cache.get(store_id)
    now = pipeline.processor.watermarks.now()
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
        "served_by": str(pipeline.app.conf.canonical_url),
    }


# -- fleet -------------------------------------------------------------------------------------


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


async def _peers_json(pipeline: Pipeline, path_qs: str, headers: dict[str, str]) -> list[dict]:
    """GET ``path_qs`` from every other worker holding store-state partitions."""
    app = pipeline.app
    try:
        hosts = list(app.router.table_metadata("store-state"))
    except (KeyError, AttributeError):
        return []
    me = str(app.conf.canonical_url).rstrip("/")
    peers = [h.rstrip("/") for h in hosts if h.rstrip("/") != me]

    async def one(url: str) -> dict | None:
        try:
            async with app.http_client.get(url + path_qs, headers=headers,
                                           timeout=PEER_TIMEOUT_S) as resp:
                if resp.status == 200:
                    return orjson.loads(await resp.read())
                log.warning("peer %s answered %s for %s", url, resp.status, path_qs)
        except Exception as exc:  # noqa: BLE001 - a missing peer only narrows the figures
            log.warning("peer %s unreachable: %s", url, exc)
        return None

    results = await asyncio.gather(*(one(u) for u in peers))
    return [r for r in results if r is not None]


def _auth_headers(request: Request) -> dict[str, str]:
    auth = request.headers.get("Authorization")
    return {"Authorization": auth} if auth else {}


def _int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    try:
        return min(max(int(request.query.get(name, default)), lo), hi)
    except ValueError:
        return default


# -- metrics -----------------------------------------------------------------------------------


class PipelineCollector:
    """Figures read from the running pipeline at scrape time."""

    def __init__(self, pipeline: Pipeline, monitor: Monitor, lag: dict, fleet: tuple | None):
        self.pipeline, self.monitor, self.lag, self.fleet = pipeline, monitor, lag, fleet

    def collect(self):
        stats = self.pipeline.processor.stats
        c = CounterMetricFamily("streamproc_messages_consumed",
                                "Kafka messages applied, by topic.", labels=["topic"])
        for topic, n in sorted(stats.messages.items()):
            c.add_metric([topic], n)
        yield c
        yield CounterMetricFamily("streamproc_polls_applied", "Polls applied.",
                                  value=stats.polls)
        yield CounterMetricFamily("streamproc_polls_late_dropped",
                                  "Polls older than the retention, dropped.",
                                  value=stats.late_dropped)
        r = CounterMetricFamily("streamproc_rejected_messages",
                                "Messages sent to the dead-letter topic, by topic and reason.",
                                labels=["topic", "reason"])
        for key, n in sorted(stats.rejected.items()):
            topic, _, reason = key.partition(":")
            r.add_metric([topic, reason], n)
        yield r
        lag = GaugeMetricFamily("streamproc_consumer_lag",
                                "Messages in the topic not yet processed by this worker.",
                                labels=["topic", "partition"])
        for (topic, partition), n in sorted(self.lag.items()):
            lag.add_metric([topic, str(partition)], n)
        yield lag
        now = self.pipeline.processor.watermarks.now()
        yield GaugeMetricFamily("streamproc_watermark_seconds",
                                "Event-time now: the largest poll timestamp (Unix seconds).",
                                value=(now or 0) / 1e6)
        yield GaugeMetricFamily("streamproc_stores_live",
                                "Stores with a live state in this worker's memory.",
                                value=len(self.pipeline.processor.cache))
        if self.fleet is not None:
            yield GaugeMetricFamily("streamproc_stores_tracked",
                                    "Stores in this worker's partitions.", value=self.fleet[0])
            yield GaugeMetricFamily("streamproc_stores_down",
                                    "Stores whose latest observation is inactive.",
                                    value=self.fleet[1])
        yield GaugeMetricFamily("streamproc_ready",
                                "1 when partitions are assigned and tables recovered.",
                                value=1 if self.pipeline.is_ready() else 0)


async def consumer_lag(pipeline: Pipeline) -> dict:
    """End offset minus the next offset to process, per input partition of this worker."""
    try:
        ends = await asyncio.wait_for(pipeline.end_offsets(), 5)
        processed = pipeline.processor.processed
        base = {}
        if any(tp not in processed for tp in ends):  # nothing consumed since the start
            base = await asyncio.wait_for(pipeline.committed(), 5)
    except Exception:  # noqa: BLE001 - no lag figures rather than no metrics
        return {}
    return {tp: max(end - max(processed.get(tp, 0), base.get(tp, 0)), 0)
            for tp, end in ends.items()}


# -- registration ------------------------------------------------------------------------------


def register(pipeline: Pipeline) -> None:
    app = pipeline.app
    monitor = install(pipeline)
    states = app.tables["store-state"]

    @app.page("/")
    class Dashboard(View):
        async def get(self, request: Request) -> Response:
            html = (STATIC_DIR / "index.html").read_text()
            return self.html(html, headers={"Cache-Control": "no-cache"})

    app.web.add_static("/static/", STATIC_DIR)

    @app.page("/stores/{store_id}")
    class Store(View):
        async def get(self, request: Request, store_id: str) -> Response:
            if not is_valid_store_id(store_id):
                return self.json({"error": f"invalid store id {store_id[:80]!r}"}, status=400)
            return await self._routed(request, store_id=store_id)

        @app.table_route(table=states, match_info="store_id")
        async def _routed(self, request: Request, store_id: str) -> Response:
            doc = store_json(pipeline, store_id)
            if doc is None:
                return self.json({"error": f"unknown store {store_id}"}, status=404)
            return self.json(doc)

    @app.page("/fleet")
    class FleetView(View):
        async def get(self, request: Request) -> Response:
            limit = _int_param(request, "limit", 50, 0, MAX_LIMIT)
            query = request.query.get("q", "").strip()
            sort = request.query.get("sort", "week")
            now, rows = await monitor.fleet.rows()
            doc = fleet_json(now, rows, limit, query, sort)
            if request.query.get("scope") != "local":
                qs = request.rel_url.update_query(scope="local")
                peers = await _peers_json(pipeline, str(qs), _auth_headers(request))
                if peers:
                    doc = merge_fleet([doc, *peers], limit, sort)
            return self.json(doc)

    @app.page("/fleet/hourly")
    class FleetHourly(View):
        async def get(self, request: Request) -> Response:
            hours = _int_param(request, "hours", 7 * 24, 1, 8 * 24)
            doc = dict(await monitor.fleet.hourly(hours))
            if request.query.get("scope") != "local":
                qs = request.rel_url.update_query(scope="local")
                peers = await _peers_json(pipeline, str(qs), _auth_headers(request))
                if peers:
                    doc = merge_hourly([doc, *peers])
            return self.json(doc)

    @app.page("/live")
    class Live(View):
        async def get(self, request: Request) -> web.StreamResponse:
            sub = await monitor.feed.subscribe()
            resp = web.StreamResponse(headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            })
            try:
                await resp.prepare(request)
                await resp.write(b"retry: 2000\nevent: ready\ndata: {}\n\n")
                while True:
                    try:
                        offset, value = await asyncio.wait_for(sub.queue.get(), KEEPALIVE_S)
                    except TimeoutError:
                        if sub.dropped:
                            break
                        await resp.write(b": keepalive\n\n")
                        continue
                    await resp.write(b"id: %d\nevent: outage\ndata: %s\n\n" % (offset, value))
                    if sub.dropped and sub.queue.empty():
                        break
            except (ConnectionResetError, asyncio.CancelledError):
                pass
            finally:
                monitor.feed.unsubscribe(sub)
            return resp

    @app.page("/metrics")
    class Metrics(View):
        async def get(self, request: Request) -> Response:
            lag = await consumer_lag(pipeline)
            _, rows = await monitor.fleet.rows()
            fleet = (len(rows), sum(1 for r in rows if r[1] == "inactive"))
            extra = CollectorRegistry(auto_describe=False)
            extra.register(PipelineCollector(pipeline, monitor, lag, fleet))
            return web.Response(body=metrics.render([extra]),
                                headers={"Content-Type": CONTENT_TYPE_LATEST})
