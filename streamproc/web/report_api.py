"""The report API: `/trigger_report`, `/get_report`, `/reports` (see streamproc.worker.report_jobs).

Every answer is JSON except a finished report's CSV; ids are checked against a strict
pattern before anything touches the file system, so no request can name a path outside the
reports folder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web
from faust.web import Request, Response, View

from streamproc.core.timeparse import parse_timestamp
from streamproc.web import openapi
from streamproc.web.middleware import MAX_BODY_BYTES, error_response
from streamproc.worker.report_jobs import (
    COMPLETE,
    EXPIRED,
    FAILED,
    RUNNING,
    ReportService,
    is_report_id,
    public,
)

if TYPE_CHECKING:
    from streamproc.worker.app import Pipeline

LIST_DEFAULT, LIST_MAX = 100, 1000


class BadRequest(Exception):
    pass


def json_response(doc: Any, status: int = 200, headers: dict[str, str] | None = None):
    return web.Response(body=orjson.dumps(doc), status=status, content_type="application/json",
                        charset="utf-8", headers=headers)


def parse_as_of(value: object) -> int | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRequest("as_of must be a string (ISO timestamp, UTC)")
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise BadRequest(f"bad as_of: {exc}") from None


async def read_json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.content.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise BadRequest("request body too large")
    if not raw.strip():
        return {}
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("request body is not JSON") from None
    if not isinstance(doc, dict):
        raise BadRequest("request body must be a JSON object")
    return doc


def register(pipeline: Pipeline) -> ReportService:
    app = pipeline.app
    service = ReportService(pipeline)

    async def trigger(request: web.Request, body: dict[str, Any]) -> web.Response:
        try:
            as_of = parse_as_of(body["as_of"] if "as_of" in body else request.query.get("as_of"))
        except BadRequest as exc:
            return error_response(400, str(exc))
        try:
            report_id = await service.trigger(as_of)
        except Exception as exc:  # noqa: BLE001 - Kafka unreachable: try again later
            return error_response(503, f"could not record the request: {exc}",
                                  {"Retry-After": "5"})
        return json_response({"report_id": report_id})

    @app.page("/trigger_report")
    class TriggerReport(View):
        async def get(self, request: Request) -> Response:
            return await trigger(request, {})

        async def post(self, request: Request) -> Response:
            try:
                body = await read_json_body(request)
            except BadRequest as exc:
                status = 413 if "too large" in str(exc) else 400
                return error_response(status, str(exc))
            return await trigger(request, body)

    async def get_report(request: web.Request, report_id: str | None) -> web.StreamResponse:
        if report_id is None:
            return error_response(400, "report_id is required")
        if not is_report_id(report_id):
            return error_response(404, "unknown report id")
        fmt = request.query.get("format", "csv")
        if fmt not in ("csv", "json"):
            return error_response(400, "format must be csv or json")
        found = service.lookup(report_id)
        record = found.record
        if record is None:
            if found.recovering or await service.behind():
                return error_response(503, "worker is recovering its state; retry shortly",
                                      {"Retry-After": "2"})
            return error_response(404, "unknown report id")
        status = record.get("status")
        if status == RUNNING:
            return json_response({"status": RUNNING, "report_id": report_id},
                                 headers={"X-Report-Status": RUNNING, "Retry-After": "1"})
        if status == EXPIRED:
            hours = service.settings.report_retention_h
            return json_response(
                {"status": EXPIRED, "report_id": report_id,
                 "error": f"report expired ({hours:g} h after it finished, "
                          "STREAMPROC_REPORT_RETENTION_HOURS); trigger a new one"},
                status=410, headers={"X-Report-Status": EXPIRED},
            )
        if status != COMPLETE:
            return json_response(
                {"status": FAILED, "report_id": report_id,
                 "error": str(record.get("error") or "failed")},
                headers={"X-Report-Status": FAILED},
            )
        path = service.path(report_id)
        if not path.is_file():
            return error_response(404, "report file is missing on this worker")
        if fmt == "json":
            try:
                rows = service.json_rows(report_id)
            except (OSError, ValueError) as exc:
                return error_response(404, f"report file unreadable: {exc}")
            head = {k: v for k, v in public(record).items() if k not in ("id", "status")}
            prefix = orjson.dumps({"status": COMPLETE, "report_id": report_id, **head})
            body = prefix[:-1] + b',"report":' + rows + b"}"
            return web.Response(body=body, content_type="application/json", charset="utf-8",
                                headers={"X-Report-Status": COMPLETE})
        return web.FileResponse(path, headers={
            "Content-Type": "text/csv; charset=utf-8",
            "X-Report-Status": COMPLETE,
            "Content-Disposition": f'attachment; filename="report_{report_id}.csv"',
        })

    @app.page("/get_report")
    class GetReport(View):
        async def get(self, request: Request) -> Response:
            return await get_report(request, request.query.get("report_id"))

    @app.page("/get_report/{report_id}")
    class GetReportById(View):
        async def get(self, request: Request, report_id: str) -> Response:
            return await get_report(request, report_id)

    @app.page("/reports")
    class Reports(View):
        async def get(self, request: Request) -> Response:
            text = request.query.get("limit", str(LIST_DEFAULT))
            if not text.isdigit() or not 1 <= int(text) <= LIST_MAX:
                return error_response(400, f"limit must be an integer in 1..{LIST_MAX}")
            return json_response({"reports": service.listing(int(text))})

    _describe()
    return service


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
    },
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


def _describe() -> None:
    openapi.add_schema("ReportRecord", _RECORD)
    openapi.add_schema("ReportRow", _ROW)
    openapi.add_schema("ReportStatus", _STATUS)
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
                "properties": {"as_of": {"anyOf": [openapi.AS_OF_SCHEMA, {"type": "null"}]}},
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
    openapi.add_path("/get_report", _get_report_op("getReport", [
        {"name": "report_id", "in": "query", "required": True, "schema": {"type": "string"}},
    ]))
    openapi.add_path("/get_report/{report_id}", _get_report_op("getReportById", [
        {"name": "report_id", "in": "path", "required": True, "schema": {"type": "string"}},
    ]))
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
