"""``POST /events``: events over HTTP, for pollers that cannot speak Kafka (docs/events.md).

The body is NDJSON (one event of the ``store-events`` format per line) or one of the four CSV
files. Every line is checked like a Kafka event or a CSV row; the good ones are sent to the
worker's input topics and the answer waits until the broker has acknowledged them all, so a
report triggered after a 200 includes them. The answer counts accepted and rejected lines and
gives the reason for each rejected one (the first :data:`MAX_ERRORS`; all of them also go to
the dead-letter topic, like bad rows of any other source).
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from streamproc.core import body_caps
from streamproc.core.event_bodies import MEDIA_TYPES, Batch, BodyError, decode_body
from streamproc.web import openapi
from streamproc.web.http import (
    BadRequest,
    error_response,
    json_response,
    pipeline_of,
    read_body,
)

log = logging.getLogger("streamproc.web.events")

MAX_ERRORS = 100  # rejected lines listed in one answer
PUBLISH_TIMEOUT_S = 30.0
SOURCE = "POST /events"


async def post_events(request: web.Request) -> web.Response:
    pipeline = pipeline_of(request)
    try:
        batch = await _decoded_body(request, pipeline.settings.events_max_bytes)
    except BadRequest as exc:
        return error_response(exc.status, str(exc))
    try:
        sent = await asyncio.wait_for(pipeline.publish(batch), PUBLISH_TIMEOUT_S)
    except (TimeoutError, OSError) as exc:
        return _unavailable(exc)
    except Exception as exc:  # aiokafka's KafkaError: the broker said no; the client retries
        if type(exc).__module__.startswith(("aiokafka", "kafka")):
            return _unavailable(exc)
        raise
    return json_response(_summary(batch, sent))


async def _decoded_body(request: web.Request, limit: int) -> Batch:
    try:
        body = await read_body(request, limit)
    except BadRequest as exc:
        raise BadRequest(f"{exc} (STREAMPROC_EVENTS_MAX_BYTES): send it in several requests",
                         too_large=True) from None
    if "Content-Type" not in request.headers:  # a page may send that without a preflight
        raise BadRequest("POST /events needs a Content-Type: application/x-ndjson, "
                         "application/json or text/csv", status=415)
    media_type = request.content_type
    if problem := body_caps.too_many_lines(body):
        raise BadRequest(problem, too_large=True)
    try:
        if len(body) < body_caps.OFF_LOOP_BYTES:
            batch = decode_body(body, media_type, SOURCE)
        else:  # a large body decodes in a thread: the loop keeps serving meanwhile
            batch = await asyncio.to_thread(decode_body, body, media_type, SOURCE)
    except BodyError as exc:
        unsupported = media_type.lower() not in MEDIA_TYPES and media_type != ""
        raise BadRequest(str(exc), status=415 if unsupported else 400) from None
    if problem := body_caps.too_many_rejections(batch.rejections):
        raise BadRequest(problem)
    return batch


def _unavailable(exc: BaseException) -> web.Response:
    log.warning("POST /events: the broker did not acknowledge: %r", exc)
    return error_response(503, f"the broker did not acknowledge the events ({type(exc).__name__})"
                          "; nothing is lost by sending the same body again",
                          {"Retry-After": "5"})


def _summary(batch: Batch, sent: int) -> dict:
    errors = [{"line": r.line, "reason": r.reason} for r in batch.rejections[:MAX_ERRORS]]
    return {"accepted": len(batch.events), "rejected": len(batch.rejections),
            "messages": sent, "errors": errors,
            "errors_omitted": max(len(batch.rejections) - MAX_ERRORS, 0)}


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/events", post_events)
    openapi.add_path("/events", {"post": _OPERATION})


_SUMMARY = {
    "type": "object",
    "required": ["accepted", "rejected", "messages", "errors", "errors_omitted"],
    "properties": {
        "accepted": {"type": "integer", "minimum": 0, "description": "events kept"},
        "rejected": {"type": "integer", "minimum": 0, "description": "lines rejected"},
        "messages": {"type": "integer", "minimum": 0,
                     "description": "Kafka messages the events were sent as (acknowledged)"},
        "errors": {"type": "array", "maxItems": MAX_ERRORS, "items": {
            "type": "object", "required": ["line", "reason"],
            "properties": {"line": {"type": "integer"}, "reason": {"type": "string"}}}},
        "errors_omitted": {"type": "integer", "minimum": 0},
    },
}
_OPERATION = {
    "operationId": "postEvents",
    "summary": "Publish polls, business hours, time zones and special hours over HTTP",
    "description": "NDJSON: one event of docs/events.md per line (poll, hours, timezone, "
                   "special_hours). "
                   "CSV: one of the four input files, found from its header. Answered once "
                   "the broker acknowledged every accepted event. Like a bulk API, a body is "
                   "not refused for its bad lines: they are counted and listed with their "
                   "reasons (a CSV of unknown header is one bad line) and the rest is kept.",
    "requestBody": {"required": True, "content": {
        **{media: {"schema": {"type": "string", "format": "binary"}}
           for media in sorted(MEDIA_TYPES) if media != "application/json"},
        "application/json": {"schema": {"anyOf": [
            {"type": "object"}, {"type": "array"}]}}}},
    "responses": {
        "200": {"description": "Counts, and the reason for each rejected line",
                "content": openapi.json_content(_SUMMARY)},
        "400": openapi.error("An application/json body that is not JSON, or neither an "
                             "object nor an array; or more than 1,000 bad lines (nothing of "
                             "the body is published)"),
        "413": openapi.error("A body larger than STREAMPROC_EVENTS_MAX_BYTES, or of more "
                             "than 100,000 lines"),
        "415": openapi.error("No Content-Type, or one other than NDJSON, JSON or CSV"),
        "503": openapi.error("The broker did not acknowledge; send the same body again"),
    },
}
