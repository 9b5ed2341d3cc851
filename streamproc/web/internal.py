"""Worker-to-worker routes used to assemble one report from every worker's partitions."""

from __future__ import annotations

import orjson
from aiohttp import web

from streamproc.web.http import error_response, json_response, pipeline_of
from streamproc.web.openapi import add_path, error, json_content

MAX_TIMEOUT_S = 300.0


async def _body(request: web.Request) -> dict:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body


async def catch_up(request: web.Request) -> web.Response:
    try:
        body = await _body(request)
        targets = {(str(t), int(p)): int(o) for t, p, o in body["targets"]}
        timeout = min(float(body.get("timeout", 60.0)), MAX_TIMEOUT_S)
    except (ValueError, KeyError, TypeError) as exc:
        return error_response(400, f"bad catch-up request: {exc}")
    try:
        return json_response(await pipeline_of(request).catch_up(targets, timeout))
    except TimeoutError as exc:  # SnapshotTimeout
        return error_response(503, str(exc))


async def rows(request: web.Request) -> web.Response:
    try:
        now = (await _body(request))["now"]
        if now is not None and type(now) is not int:
            raise ValueError("'now' must be microseconds or null")
    except (ValueError, KeyError) as exc:
        return error_response(400, f"bad rows request: {exc}")
    try:
        part = await pipeline_of(request).local_part(now)
    except RuntimeError as exc:  # AssignmentChanged: the coordinator retries
        return error_response(409, str(exc))
    return json_response({**part, "rows": [tuple(row) for row in part["rows"]]})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/internal/catch-up", catch_up)
    router.add_post("/internal/rows", rows)

add_path("/internal/catch-up", {"post": {
    "operationId": "internalCatchUp",
    "summary": "Worker to worker: wait until this worker processed up to the given offsets",
    "requestBody": {"required": True, "content": json_content({
        "type": "object", "required": ["targets"],
        "properties": {"targets": {"type": "array", "items": {"type": "array"}},
                       "timeout": {"type": "number"}}})},
    "responses": {
        "200": {"description": "Caught up", "content": json_content({"type": "object"})},
        "400": error("Bad request"),
        "503": error("Not caught up in time"),
    },
}})
add_path("/internal/rows", {"post": {
    "operationId": "internalRows",
    "summary": "Worker to worker: this worker's report rows at a given watermark",
    "requestBody": {"required": True, "content": json_content({
        "type": "object", "required": ["now"],
        "properties": {"now": {"type": ["integer", "null"]}}})},
    "responses": {
        "200": {"description": "Rows", "content": json_content({"type": "object"})},
        "400": error("Bad request"),
        "409": error("The partitions moved during the evaluation (retry)"),
    },
}})
