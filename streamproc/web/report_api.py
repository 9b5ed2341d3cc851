"""The report API: `/trigger_report`, `/get_report`, `/reports` (the jobs behind it are
``streamproc.worker.reports``; the rules, ``streamproc.core.report_lifecycle``).

Every answer is JSON except a finished report's CSV; ids are checked against a strict
pattern before anything touches the file system, so no request can name a path outside the
reports folder.
"""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any
from urllib.parse import parse_qs

import orjson
from aiohttp import web

from streamproc.core.access import may_see_report
from streamproc.core.report_lifecycle import (
    COMPLETE,
    EXPIRED,
    FAILED,
    RUNNING,
    is_report_id,
    public,
    shown_error,
)
from streamproc.core.report_quota import TooManyRunning
from streamproc.core.report_rows import MAX_COLUMNS, OPTIONAL_COLUMNS, check_columns
from streamproc.core.timeparse import parse_timestamp
from streamproc.web import openapi
from streamproc.web.access import principal_of
from streamproc.web.forwarding import to_owner
from streamproc.web.http import (
    BadRequest,
    error_response,
    int_param,
    json_response,
    pipeline_of,
    read_body,
    read_json_body,
)

LIST_DEFAULT, LIST_MAX = 100, 1000
RUNNING_RETRY_S = 10  # an owner at their running cap: a report takes seconds
SETTLE_S = 3.0  # an unknown id waits this long for report messages still being applied


def parse_as_of(value: object) -> int | None:
    """The requested event time (None: the watermark); BadRequest names what is wrong."""
    if value is None:
        return None
    if value == "":
        raise BadRequest("as_of is empty: give a UTC time (e.g. 2023-01-25T18:13:22Z) or "
                         "leave it out")
    if not isinstance(value, str):
        raise BadRequest("as_of must be a string (ISO timestamp, UTC)")
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise BadRequest(f"bad as_of: {exc}") from None


def parse_columns(value: object) -> tuple[str, ...]:
    """The optional columns of a trigger body; BadRequest names an unknown one."""
    try:
        return check_columns(value)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


async def _to_report_owner(request: web.Request, as_get: str | None = None
                           ) -> web.Response | None:
    """Reports live with the worker holding the report partition: others pass requests on
    (``as_get``: pass it on as ``GET as_get`` with the same query, its body already read)."""
    return await to_owner(request, pipeline_of(request).cluster.reports_owner, as_get)


async def trigger_report(request: web.Request) -> web.Response:
    """GET or POST: record a report request; answer its id once the broker has it."""
    if (forwarded := await _to_report_owner(request)) is not None:
        return forwarded
    try:
        body = await read_json_body(request) if request.method == "POST" else {}
        as_of = parse_as_of(request.query.get("as_of"))  # checked even when the body has one
        if "as_of" in body:
            as_of = parse_as_of(body["as_of"])
        columns = parse_columns(body.get("columns"))
    except BadRequest as exc:
        return error_response(exc.status, str(exc))
    jobs, principal = pipeline_of(request).reports, principal_of(request)
    wait = jobs.rate.take(principal.key, time.monotonic())
    if wait is not None:
        retry = max(1, math.ceil(wait))
        return error_response(429, f"too many report triggers; retry in {retry} s",
                              {"Retry-After": str(retry)})
    try:
        report_id = await jobs.trigger(as_of, columns, principal)
    except TooManyRunning as exc:  # the caller's own generations at their cap
        return error_response(429, str(exc), {"Retry-After": str(RUNNING_RETRY_S)})
    except Exception as exc:  # noqa: BLE001 - Kafka unreachable: try again later
        return error_response(503, f"could not record the request: {exc}",
                              {"Retry-After": "5"})
    return json_response({"report_id": report_id})


async def get_report(request: web.Request) -> web.StreamResponse:
    """A report's status, or its CSV (or JSON rows) once Complete. The id comes from the
    path, the query, or (``POST``, as the services this one replaces accept it) a JSON or
    form body ``report_id``."""
    try:
        report_id = request.match_info.get("report_id") or request.query.get("report_id")
        if report_id is None and request.method == "POST":
            report_id = await _report_id_from_body(request)
    except BadRequest as exc:
        return error_response(exc.status, str(exc))
    if report_id is None:
        return error_response(400, "report_id is required")
    if not is_report_id(report_id):
        return error_response(404, "unknown report id")
    fmt = request.query.get("format", "csv")
    if fmt not in ("csv", "json"):
        return error_response(400, "format must be csv or json")
    if (forwarded := await _to_report_owner(request, f"/get_report/{report_id}")) is not None:
        return forwarded
    jobs = pipeline_of(request).reports
    found = jobs.lookup(report_id)
    if found.record is None:
        found, behind = await _settled_lookup(jobs, report_id)
        if found.record is None and (found.recovering or behind):
            return error_response(503, "worker is recovering its state; retry shortly",
                                  {"Retry-After": "2"})
    if found.record is None or not may_see_report(principal_of(request), found.record):
        return error_response(404, "unknown report id")  # or another owner's report
    if found.record.get("status") != COMPLETE:
        return _unfinished(found.record, report_id, jobs.settings.report_retention_h,
                           principal_of(request).is_operator)
    return _finished(jobs, found.record, report_id, fmt)


async def _settled_lookup(jobs, report_id: str) -> tuple[Any, bool]:
    """An id not found while report messages the broker has are still being applied (the
    agent is a moment behind while reports finish) is looked up again for up to
    :data:`SETTLE_S`: (the lookup, whether still behind). Only a worker truly recovering its
    state then answers 503."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        found = jobs.lookup(report_id)
        if found.record is not None or found.recovering:
            return found, False
        behind = await jobs.behind()
        if not behind:
            # The agent may have applied the request while we asked the broker for its end
            # (a restarted worker re-reading it): look again now that it has caught up.
            return jobs.lookup(report_id), False
        if time.monotonic() > deadline:
            return found, behind
        await asyncio.sleep(0.05)


async def _report_id_from_body(request: web.Request) -> str | None:
    """``report_id`` of a JSON object or a form body; None if the body has none."""
    if request.content_type == "application/x-www-form-urlencoded":
        raw = await read_body(request)
        value = parse_qs(raw.decode("utf-8", "replace")).get("report_id", [None])[0]
    else:
        value = (await read_json_body(request)).get("report_id")
    if value is not None and not isinstance(value, str):
        raise BadRequest("report_id must be a string")
    return value


def _unfinished(record: dict[str, Any], report_id: str, retention_h: float,
                operator: bool) -> web.Response:
    status = record.get("status")
    if status == RUNNING:
        return json_response({"status": RUNNING, "report_id": report_id},
                             headers={"X-Report-Status": RUNNING, "Retry-After": "1"})
    if status == EXPIRED:
        return json_response(
            {"status": EXPIRED, "report_id": report_id,
             "error": f"report expired ({retention_h:g} h after it finished, "
                      "STREAMPROC_REPORT_RETENTION_HOURS); trigger a new one"},
            status=410, headers={"X-Report-Status": EXPIRED},
        )
    return json_response(
        {"status": FAILED, "report_id": report_id,
         "error": shown_error(str(record.get("error") or "failed"), operator)},
        headers={"X-Report-Status": FAILED},
    )


def _finished(jobs, record: dict[str, Any], report_id: str, fmt: str) -> web.StreamResponse:
    path = jobs.csv_path(report_id, record)
    if path is None:
        return error_response(404, "report file is missing (not on disk, not in Kafka)")
    if fmt == "csv":
        return web.FileResponse(path, headers={
            "Content-Type": "text/csv; charset=utf-8",
            "X-Report-Status": COMPLETE,
            "Content-Disposition": f'attachment; filename="report_{report_id}.csv"',
        })
    try:
        rows = jobs.json_rows(report_id)
    except (OSError, ValueError) as exc:
        return error_response(404, f"report file unreadable: {exc}")
    head = {k: v for k, v in public(record).items() if k not in ("id", "status")}
    prefix = orjson.dumps({"status": COMPLETE, "report_id": report_id, **head})
    body = prefix[:-1] + b',"report":' + rows + b"}"
    return web.Response(body=body, content_type="application/json", charset="utf-8",
                        headers={"X-Report-Status": COMPLETE})


async def list_reports(request: web.Request) -> web.Response:
    try:  # int_param: ASCII digits only ("²".isdigit() is true, int("²") raises)
        limit = int_param(request, "limit", LIST_DEFAULT, 1, LIST_MAX)
    except BadRequest as exc:
        return error_response(exc.status, str(exc))
    if (forwarded := await _to_report_owner(request)) is not None:
        return forwarded
    listing = pipeline_of(request).reports.listing(limit, principal_of(request))
    return json_response({"reports": listing})


# The services this one replaces spell the routes with dashes too; both work.
ALIASES = {"/trigger_report": "/trigger-report", "/get_report": "/get-report"}


def add_routes(router: web.UrlDispatcher) -> None:
    for path in ("/trigger_report", "/trigger-report"):
        router.add_get(path, trigger_report)
        router.add_post(path, trigger_report)
    for path in ("/get_report", "/get-report"):
        router.add_get(path, get_report)
        router.add_post(path, get_report)
        router.add_get(path + "/{report_id}", get_report)
    router.add_get("/reports", list_reports)
    _describe()


# -- OpenAPI -----------------------------------------------------------------------------

_REPORT_ID = {"type": "string", "pattern": "^[A-Za-z0-9_-]{22}$",
              "description": "Report id from /trigger_report"}
_RECORD = {
    "type": "object",
    "required": ["id", "status"],
    "properties": {
        "id": {"type": "string"},
        "status": {"enum": [RUNNING, COMPLETE, FAILED, EXPIRED]},
        "created": {"type": "string"},
        "as_of": {"type": "string"},
        "columns": {"type": "array", "items": {"type": "string"},
                    "description": "optional columns asked for on trigger"},
        "now": {"type": "string", "description": "event time the report was computed at"},
        "rows": {"type": "integer"},
        "seconds": {"type": "number"},
        "completed": {"type": "string"},
        "error": {"type": "string"},
        "expired": {"type": "string"},
    },
}
_ROW = {
    "type": "object",
    "required": ["store_id"],
    "properties": {
        "store_id": {"type": "string"},
        **{f"{kind}_last_{w}": {"type": "number"}
           for kind in ("uptime", "downtime") for w in ("hour", "day", "week")},
        **{c: {"type": "number"} for c in OPTIONAL_COLUMNS},
    },
}
_COLUMNS = {
    "type": "array", "uniqueItems": True, "maxItems": MAX_COLUMNS,
    "items": {"enum": list(OPTIONAL_COLUMNS)},
    "description": "Optional columns added after the contract's seven, in this order "
                   "(docs/semantics.md, 'What each number rests on'); an unknown one is a 400",
}
_STATUS = {
    "oneOf": [
        {"type": "object", "required": ["status"],
         "properties": {"status": {"const": RUNNING}, "report_id": {"type": "string"}}},
        {"type": "object", "required": ["status", "error"],
         "properties": {"status": {"const": FAILED}, "report_id": {"type": "string"},
                        "error": {"type": "string"}}},
        {"type": "object", "required": ["status", "report"],
         "properties": {"status": {"const": COMPLETE}, "report_id": {"type": "string"},
                        "report": {"type": "array", "items": {"$ref": "#/components/schemas/"
                                                                       "ReportRow"}}}},
    ]
}


def _get_report_op(operation_id: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    return {"get": {
        "operationId": operation_id,
        "summary": "Status of a report, or its CSV once Complete",
        "description": "Running: {\"status\": \"Running\"}. Complete: the CSV "
                       "(X-Report-Status: Complete, as an attachment), or with format=json the "
                       "rows as objects. Failed: {\"status\": \"Failed\", \"error\": ...}.",
        "parameters": params + [{
            "name": "format", "in": "query", "required": False,
            "schema": {"enum": ["csv", "json"], "default": "csv"},
        }],
        "responses": {
            "200": {
                "description": "Running/Failed status as JSON, or the finished report",
                "headers": {"X-Report-Status": {"schema": {"enum": [RUNNING, COMPLETE, FAILED]}}},
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/json": {"schema": {"$ref": "#/components/schemas/"
                                                            "ReportStatus"}},
                },
            },
            "400": openapi.error("Missing report_id or bad format"),
            "404": openapi.error("Unknown or malformed report id"),
            "410": openapi.error("The report expired (STREAMPROC_REPORT_RETENTION_HOURS after "
                                 "it finished); its file is deleted"),
            "503": openapi.error("The worker is still recovering its state"),
        },
    }}


def _get_report_post_op(operation_id: str) -> dict[str, Any]:
    """``POST /get_report`` with the id in a JSON or form body (drop-in for other services)."""
    op = dict(_get_report_op(operation_id, [])["get"])
    op["summary"] = "Status of a report, or its CSV once Complete (id in the body)"
    body = {"type": "object", "required": ["report_id"], "properties": {"report_id": _REPORT_ID}}
    op["requestBody"] = {"required": True, "content": {
        **openapi.json_content(body), "application/x-www-form-urlencoded": {"schema": body}}}
    return op


def _renamed(item: dict[str, Any], suffix: str) -> dict[str, Any]:
    """A path item with every operationId suffixed (an alias route)."""
    return {method: {**op, "operationId": op["operationId"] + suffix}
            for method, op in item.items()}


def _describe() -> None:
    openapi.add_schema("ReportRecord", _RECORD)
    openapi.add_schema("ReportRow", _ROW)
    openapi.add_schema("ReportStatus", _STATUS)
    _describe_trigger()
    _describe_get_and_list()


def _describe_trigger() -> None:
    trigger_ok = {"description": "The new report's id",
                  "content": openapi.json_content({
                      "type": "object", "required": ["report_id"],
                      "properties": {"report_id": _REPORT_ID}}),
                  "links": {"GetReport": {
                      "operationId": "getReportById",
                      "parameters": {"report_id": "$response.body#/report_id"}}}}
    trigger_errors = {
        "200": trigger_ok,
        "400": openapi.error("Bad as_of or body"),
        "429": openapi.error("Too many triggers from this caller, or (an owner) too many of "
                             "their reports still running (Retry-After says when)"),
        "503": openapi.error("Kafka unavailable; retry"),
    }
    openapi.add_path("/trigger_report", {
        "post": {
            "operationId": "triggerReport",
            "summary": "Start a report",
            "description": "Returns at once; poll /get_report with the id.",
            "parameters": [openapi.AS_OF_QUERY],
            "requestBody": {"required": False, "content": openapi.json_content({
                "type": "object",
                "properties": {"as_of": {"anyOf": [openapi.AS_OF_SCHEMA, {"type": "null"}]},
                               "columns": {"anyOf": [_COLUMNS, {"type": "null"}]}},
            })},
            "responses": trigger_errors,
        },
        "get": {
            "operationId": "triggerReportGet",
            "summary": "Start a report (GET form)",
            "parameters": [openapi.AS_OF_QUERY],
            "responses": trigger_errors,
        },
    })
    openapi.add_path("/trigger-report", _renamed(openapi.spec()["paths"]["/trigger_report"],
                                                 "Dashed"))


def _describe_get_and_list() -> None:
    query_id = [{"name": "report_id", "in": "query", "required": True,
                 "schema": {"type": "string"}}]
    path_id = [{"name": "report_id", "in": "path", "required": True,
                "schema": {"type": "string"}}]
    for path, suffix in (("/get_report", ""), ("/get-report", "Dashed")):
        item = _get_report_op(f"getReport{suffix}", query_id)
        item["post"] = _get_report_post_op(f"getReportPost{suffix}")
        openapi.add_path(path, item)
        openapi.add_path(path + "/{report_id}", _get_report_op(f"getReportById{suffix}",
                                                                path_id))
    openapi.add_path("/reports", {"get": {
        "operationId": "listReports",
        "summary": "Recent reports, newest first",
        "parameters": [{"name": "limit", "in": "query", "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": LIST_MAX,
                                   "default": LIST_DEFAULT}}],
        "responses": {
            "200": {"description": "Reports", "content": openapi.json_content({
                "type": "object", "required": ["reports"],
                "properties": {"reports": {"type": "array", "items": {
                    "$ref": "#/components/schemas/ReportRecord"}}}})},
            "400": openapi.error("Bad limit"),
        },
    }})
