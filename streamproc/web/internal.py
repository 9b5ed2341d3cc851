"""Worker-to-worker routes used to assemble one report from every worker's partitions."""

from __future__ import annotations

import math

import orjson
from aiohttp import web

from streamproc.web.http import (
    BadRequest,
    error_response,
    json_response,
    pipeline_of,
    read_body,
)
from streamproc.web.openapi import add_path, error, json_content

MAX_TIMEOUT_S = 300.0


async def _body(request: web.Request) -> dict:
    try:
        raw = await read_body(request)
    except BadRequest as exc:
        raise ValueError(str(exc)) from None
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    return body


def _targets(value: object) -> dict[tuple[str, int], int]:
    """``[[topic, partition, offset], ...]`` with non-negative integers (not booleans)."""
    if not isinstance(value, list):
        raise ValueError("targets must be a list of [topic, partition, offset]")
    out = {}
    for item in value:
        if (not isinstance(item, list) or len(item) != 3 or not isinstance(item[0], str)
                or not all(_whole(n) for n in item[1:])):
            raise ValueError(f"each target must be [topic, partition, offset], not {item!r:.80}")
        out[(item[0], int(item[1]))] = int(item[2])
    return out


def _whole(n: object) -> bool:
    """A non-negative whole number as JSON has them (``5`` or ``5.0``; not ``true``)."""
    return type(n) in (int, float) and n >= 0 and n == n and n != float("inf") and n == int(n)


def _timeout(value: object) -> float:
    """Seconds, a finite number in (0, MAX_TIMEOUT_S] (NaN would never time out)."""
    if type(value) not in (int, float) or not 0 < value <= MAX_TIMEOUT_S:
        raise ValueError(f"timeout must be a number of seconds in (0, {MAX_TIMEOUT_S:g}], "
                         f"not {value!r:.40}")
    return float(value)


# Microseconds within +-2**53 (beyond year 2255): every integer there is exact as a float
# too, so the document's bounds mean the same for 5 and 5.0 and no rounding of a larger
# number (orjson reads one below -2**63 as a float) lands inside them.
NOW_MIN, NOW_MAX = -(2**53), 2**53


def _now(value: object) -> int | None:
    """Microseconds or None. JSON Schema's "integer" includes 5.0, so an integral float is
    read as the integer it is (not a boolean, not NaN, within the documented bounds)."""
    if value is None:
        return None
    if type(value) is float and math.isfinite(value) and value.is_integer():
        value = int(value)
    if type(value) is not int or not NOW_MIN <= value <= NOW_MAX:
        raise ValueError("'now' must be microseconds or null")
    return value


async def catch_up(request: web.Request) -> web.Response:
    try:
        body = await _body(request)
        targets = _targets(body.get("targets"))
        timeout = _timeout(body.get("timeout", 60.0))
    except ValueError as exc:
        return error_response(400, f"bad catch-up request: {exc}")
    try:
        return json_response(await pipeline_of(request).cluster.catch_up(targets, timeout))
    except TimeoutError as exc:  # SnapshotTimeout
        return error_response(503, str(exc))


def _stores(value: object) -> list[str] | None:
    """The stores of an owner's report (None: every store)."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(type(s) is str for s in value):
        raise ValueError("'stores' must be a list of store ids or null")
    return value


async def rows(request: web.Request) -> web.Response:
    try:
        body = await _body(request)
        now, figures = _now(body["now"]), body.get("figures", False)
        if type(figures) is not bool:
            raise ValueError("'figures' must be true or false")
        stores = _stores(body.get("stores"))
    except (ValueError, KeyError) as exc:
        return error_response(400, f"bad rows request: {exc}")
    try:
        part = await pipeline_of(request).cluster.local_part(now, figures, stores)
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
        "properties": {
            "targets": {"type": "array", "items": {
                "type": "array", "minItems": 3, "maxItems": 3, "items": False,
                "prefixItems": [{"type": "string"}, {"type": "integer", "minimum": 0},
                                {"type": "integer", "minimum": 0}]}},
            "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_TIMEOUT_S},
        }})},
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
        "properties": {"now": {"type": ["integer", "null"], "minimum": NOW_MIN,
                               "maximum": NOW_MAX},
                       "figures": {"type": "boolean", "default": False},
                       "stores": {"type": ["array", "null"], "items": {"type": "string"},
                                  "description": "only these stores (an owner's report)"}}})},
    "responses": {
        "200": {"description": "Rows", "content": json_content({"type": "object"})},
        "400": error("Bad request"),
        "409": error("The partitions moved during the evaluation (retry)"),
    },
}})
