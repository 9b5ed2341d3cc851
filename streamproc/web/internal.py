"""Worker-to-worker routes used to assemble one report from every worker's partitions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson
from faust.web import Request, Response, View

from streamproc.web.openapi import add_path, error, json_content
from streamproc.worker.snapshot import SnapshotTimeout, local_rows

if TYPE_CHECKING:
    from streamproc.worker.app import Pipeline

MAX_TIMEOUT_S = 300.0


async def _body(request: Request) -> dict:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body


def register(pipeline: Pipeline) -> None:
    app = pipeline.app

    @app.page("/internal/catch-up")
    class CatchUp(View):
        async def post(self, request: Request) -> Response:
            try:
                body = await _body(request)
                targets = {(str(t), int(p)): int(o) for t, p, o in body["targets"]}
                timeout = min(float(body.get("timeout", 60.0)), MAX_TIMEOUT_S)
            except (ValueError, KeyError, TypeError) as exc:
                return self.json({"error": f"bad catch-up request: {exc}"}, status=400)
            try:
                return self.json(await pipeline.catch_up(targets, timeout))
            except SnapshotTimeout as exc:
                return self.json({"error": str(exc)}, status=503)

    @app.page("/internal/rows")
    class Rows(View):
        async def post(self, request: Request) -> Response:
            try:
                now = (await _body(request))["now"]
                if now is not None and type(now) is not int:
                    raise ValueError("'now' must be microseconds or null")
            except (ValueError, KeyError) as exc:
                return self.json({"error": f"bad rows request: {exc}"}, status=400)
            rows = await local_rows(pipeline.processor, now)
            body = orjson.dumps({"rows": [tuple(row) for row in rows]})
            return self.bytes(body, content_type="application/json")


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
    },
}})
