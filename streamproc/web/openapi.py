"""The OpenAPI 3.1 description of every route, served as ``/openapi.json`` and ``/docs``.

One module owns the spec so that it stays complete: a module adding routes describes them
with :func:`add_path` (and :func:`add_schema` for shared component schemas), next to the
route that serves them, e.g.::

    from streamproc.web import openapi
    openapi.add_path("/metrics", {"get": {"summary": "...", "responses": {...}}})

Responses every route can give (400, 401 with a token configured, 403, 404, 405, 408, 413) are
added by :func:`spec` to every operation, so callers only describe their own.
"""

from __future__ import annotations

import copy
import html
import json
from typing import Any

from aiohttp import web

from streamproc.web.http import json_response

VERSION = "0.1.0"

_ERROR = {"$ref": "#/components/schemas/Error"}
_ISO = {"type": "string", "description": "UTC timestamp, e.g. 2023-01-25T18:13:22Z"}


def json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def error(description: str) -> dict[str, Any]:
    return {"description": description, "content": json_content(_ERROR)}


_COMPONENTS: dict[str, Any] = {
    "schemas": {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {"type": "string"}},
        },
    },
    "securitySchemes": {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": "Needed on every route but /health when STREAMPROC_API_TOKEN or "
                           "STREAMPROC_OWNERS_FILE is set: the operator's token or an "
                           "owner's (README, 'Who sees what').",
        }
    },
}

_PATHS: dict[str, dict[str, Any]] = {}

_COMMON_RESPONSES = {
    "400": error("A malformed input: a query value, a body, a header (the reason says which)"),
    "401": error("Missing, malformed or wrong bearer token, or a session cookie no longer "
                 "valid (only when the worker has a token)"),
    "403": error("A route for operators only, asked with an owner's or poller's token; a "
                 "state-changing request from another site (Origin / Sec-Fetch-Site), or "
                 "one authenticated by the session cookie without Origin or Sec-Fetch-Site; "
                 "on an open service, a Host not of this machine (STREAMPROC_ALLOWED_HOSTS)"),
    "404": error("Not found (or, for an owner, another owner's store or report)"),
    "405": error("Method not allowed"),
    "408": error("Request body not received in time"),
    "413": error("Request body too large"),
}

_INFO = {
    "title": "streamproc store uptime API",
    "version": VERSION,
    "description": (
        "Restaurant store uptime and downtime within business hours, computed by a streaming "
        "worker from Kafka events. Trigger a report, poll it, download its CSV."
    ),
}


def add_path(path: str, item: dict[str, Any]) -> None:
    """Describe ``path`` (an OpenAPI Path Item; operations are merged if already present)."""
    _PATHS.setdefault(path, {}).update(copy.deepcopy(item))


def add_schema(name: str, schema: dict[str, Any]) -> None:
    _COMPONENTS["schemas"][name] = copy.deepcopy(schema)


def spec() -> dict[str, Any]:
    """The whole document (a fresh copy)."""
    paths: dict[str, Any] = {}
    for path in sorted(_PATHS):
        item = copy.deepcopy(_PATHS[path])
        for method, op in item.items():
            if method not in {"get", "post", "put", "patch", "delete", "head", "options"}:
                continue
            responses = op.setdefault("responses", {})
            for code, resp in _COMMON_RESPONSES.items():
                if path.startswith("/health") and code in ("401", "403"):
                    continue
                responses.setdefault(code, copy.deepcopy(resp))
        paths[path] = item
    return {
        "openapi": "3.1.0",
        "info": dict(_INFO),
        "servers": [{"url": "/"}],
        "security": [{}, {"bearerAuth": []}],
        "paths": paths,
        "components": copy.deepcopy(_COMPONENTS),
    }


# -- /docs: a readable page rendered from the spec, no external assets ---------------------

_CSS = """
body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:.2em} .op{border:1px solid #ddd;border-radius:6px;margin:1em 0;padding:.6em 1em}
.m{display:inline-block;min-width:4.5em;font-weight:bold;text-transform:uppercase}
.get{color:#0a6}.post{color:#06c} code,pre{background:#f6f6f6;border-radius:4px}
pre{padding:.5em;overflow-x:auto;font-size:13px} table{border-collapse:collapse}
td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left;vertical-align:top}
"""


def _esc(value: object) -> str:
    return html.escape(str(value))


def _schema_text(schema: Any) -> str:
    return _esc(json.dumps(schema, indent=2))


def render_docs(doc: dict[str, Any]) -> str:
    info = doc["info"]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_esc(info['title'])}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_esc(info['title'])}</h1><p>version {_esc(info['version'])} &middot; "
        "<a href='openapi.json'>openapi.json</a></p>",
        f"<p>{_esc(info.get('description', ''))}</p>",
        "<p>When the worker runs with <code>STREAMPROC_API_TOKEN</code>, send "
        "<code>Authorization: Bearer &lt;token&gt;</code> on every route but "
        "<code>/health</code>.</p>",
    ]
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            parts.append(
                f"<div class='op'><h3><span class='m {_esc(method)}'>{_esc(method)}</span>"
                f"<code>{_esc(path)}</code> {_esc(op.get('summary', ''))}</h3>"
            )
            if op.get("description"):
                parts.append(f"<p>{_esc(op['description'])}</p>")
            params = op.get("parameters", [])
            if params:
                parts.append("<table><tr><th>parameter</th><th>in</th><th>schema</th>"
                             "<th>description</th></tr>")
                for p in params:
                    req = " (required)" if p.get("required") else ""
                    parts.append(
                        f"<tr><td><code>{_esc(p['name'])}</code>{req}</td><td>{_esc(p['in'])}"
                        f"</td><td><code>{_esc(json.dumps(p.get('schema', {})))}</code></td>"
                        f"<td>{_esc(p.get('description', ''))}</td></tr>"
                    )
                parts.append("</table>")
            body = op.get("requestBody")
            if body:
                for ctype, media in body.get("content", {}).items():
                    parts.append(f"<p>Request body ({_esc(ctype)}, optional):</p>"
                                 f"<pre>{_schema_text(media.get('schema', {}))}</pre>")
            parts.append("<table><tr><th>status</th><th>description</th><th>content</th></tr>")
            for code, resp in op["responses"].items():
                content = resp.get("content", {})
                shown = "".join(
                    f"<div>{_esc(ct)}</div><pre>{_schema_text(m.get('schema', {}))}</pre>"
                    for ct, m in content.items()
                )
                parts.append(f"<tr><td>{_esc(code)}</td><td>{_esc(resp.get('description', ''))}"
                             f"</td><td>{shown}</td></tr>")
            parts.append("</table></div>")
    schemas = doc.get("components", {}).get("schemas", {})
    if schemas:
        parts.append("<h2>Schemas</h2>")
        for name, schema in schemas.items():
            parts.append(
                f"<h3 id='{_esc(name)}'>{_esc(name)}</h3><pre>{_schema_text(schema)}</pre>"
            )
    parts.append("</body></html>")
    return "".join(parts)


# -- the routes that were there before this module -----------------------------------------

_HEALTH = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": {"type": "string"},
        "ready": {"type": "boolean",
                  "description": "A report trigger would be accepted now (see /health/ready)"},
        "not_ready": {"type": ["string", "null"], "description": "Why not ready, if not"},
        "watermark": {"type": ["string", "null"]},
        "stores_live": {"type": "integer"},
        "polls_applied": {"type": "integer"},
        "messages": {"type": "object", "additionalProperties": {"type": "integer"}},
        "rejected": {"type": "integer"},
        "assigned_partitions": {"type": "integer"},
        "recovering": {"type": "boolean"},
    },
}

# The parser also takes "YYYY-MM-DD HH:MM:SS[.ffffff] UTC", offsets and days 29-31; the
# pattern is the plain, always valid subset (so generated examples are accepted).
AS_OF_SCHEMA = {
    "type": "string",
    "description": "ISO 8601 timestamp, UTC, years 1970..2100, e.g. 2023-01-25T18:13:22Z",
    "pattern": "^(19[7-9][0-9]|20[0-9][0-9])-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
               "T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z$",
}
AS_OF_QUERY = {
    "name": "as_of",
    "in": "query",
    "required": False,
    "description": "Report at this event time instead of the watermark (ISO timestamp, UTC).",
    "schema": AS_OF_SCHEMA,
}

add_path("/health", {"get": {
    "operationId": "health",
    "summary": "Liveness and readiness",
    "security": [],
    "responses": {"200": {"description": "Worker status",
                          "content": json_content(_HEALTH)}},
}})
_READINESS = {
    "type": "object",
    "required": ["ready", "not_ready"],
    "properties": {"ready": {"type": "boolean"}, "not_ready": {"type": ["string", "null"]}},
}
add_path("/health/live", {"get": {
    "operationId": "healthLive",
    "summary": "Liveness probe: 200 while the worker answers",
    "security": [],
    "responses": {"200": {"description": "Live",
                          "content": json_content({"type": "object",
                                                   "required": ["live"],
                                                   "properties": {"live": {"type": "boolean"}}})}},
}})
add_path("/health/ready", {"get": {
    "operationId": "healthReady",
    "summary": "Readiness probe: 200 when a report trigger would be accepted now",
    "description": "503 during start-up and rebalances (partitions not yet assigned, tables "
                   "recovering, no worker holding the report partition), with the reason.",
    "security": [],
    "responses": {"200": {"description": "Ready", "content": json_content(_READINESS)},
                  "503": {"description": "Live but not ready",
                          "content": json_content(_READINESS)}},
}})
add_path("/snapshot.csv", {"get": {
    "operationId": "snapshotCsv",
    "summary": "Synchronous report snapshot (testing and tooling)",
    "description": "Waits for the tables to catch up with the input topics and returns the "
                   "report CSV directly. Prefer /trigger_report + /get_report.",
    "parameters": [AS_OF_QUERY],
    "responses": {
        "200": {"description": "The report CSV",
                "content": {"text/csv": {"schema": {"type": "string"}}}},
        "400": error("Bad as_of"),
        "503": error("The worker is not ready or the tables did not catch up in time"),
    },
}})
add_path("/openapi.json", {"get": {
    "operationId": "openapi",
    "summary": "This OpenAPI document",
    "responses": {"200": {"description": "OpenAPI 3.1",
                          "content": json_content({"type": "object"})}},
}})
add_path("/docs", {"get": {
    "operationId": "docs",
    "summary": "This API as a readable HTML page",
    "responses": {"200": {"description": "HTML",
                          "content": {"text/html": {"schema": {"type": "string"}}}}},
}})


async def openapi_json(request: web.Request) -> web.Response:
    return json_response(spec())


async def docs(request: web.Request) -> web.Response:
    return web.Response(text=render_docs(spec()), content_type="text/html")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/openapi.json", openapi_json)
    router.add_get("/docs", docs)
