"""HTTP calls to a worker: JSON in and out, and raw answers that do not raise on 4xx/5xx."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from email.message import Message
from typing import Any

from streamproc.sandbox.waiting import wait_for

JSON = {"Content-Type": "application/json"}


def request(base_url: str, path: str, method: str = "GET", body: bytes | None = None,
            headers: dict[str, str] | None = None,
            timeout: float = 60.0) -> tuple[int, Message, bytes]:
    """(status, headers, body) of one request, without raising on 4xx/5xx."""
    req = urllib.request.Request(base_url + path, data=body, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def get_bytes(base_url: str, path: str, timeout: float = 30.0) -> bytes:
    """The body of a GET; raises (``urllib.error.HTTPError``) on 4xx/5xx."""
    with urllib.request.urlopen(base_url + path, timeout=timeout) as resp:
        return resp.read()


def get_json(base_url: str, path: str, timeout: float = 30.0) -> Any:
    return json.loads(get_bytes(base_url, path, timeout))


def post_json(base_url: str, path: str, body: Any, timeout: float = 60.0) -> Any:
    req = urllib.request.Request(base_url + path, data=json.dumps(body).encode(),
                                 headers=JSON, method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def trigger_report(base_url: str, timeout: float = 30.0) -> str:
    """``POST /trigger_report`` (no as_of): the new report's id."""
    status, _, body = request(base_url, "/trigger_report", "POST", b"{}", JSON, timeout)
    if status != 200:
        raise AssertionError(f"trigger_report answered {status}: {body[:300]!r}")
    return json.loads(body)["report_id"]


def wait_report(base_url: str, report_id: str, timeout: float = 120.0,
                every: float = 0.2, headers: dict[str, str] | None = None) -> bytes:
    """The CSV of a report once ``/get_report/<id>`` says Complete; any answer but 200 fails."""

    def complete() -> bytes | None:
        status, answer, body = request(base_url, f"/get_report/{report_id}", headers=headers,
                                       timeout=30)
        if status != 200:
            raise AssertionError(f"get_report {report_id} answered {status}: {body[:300]!r}")
        return body if answer.get("X-Report-Status") == "Complete" else None

    return wait_for(complete, timeout, f"report {report_id} to complete", every)
