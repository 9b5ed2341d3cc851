"""`streamproc snapshot`: trigger a report on the running worker, poll it, save its CSV.

Goes through the public API (`POST /trigger_report`, then `GET /get_report/<id>` until the
report is Complete or Failed), with the bearer token of ``STREAMPROC_API_TOKEN`` if set.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from streamproc import config

POLL_INTERVAL = 0.1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    parser.add_argument("--as-of", help="report at this UTC time instead of the watermark")
    parser.add_argument("--url", help="worker base URL (default http://127.0.0.1:$STREAMPROC_WEB_PORT)")
    parser.add_argument("--timeout", type=float, default=120.0)


class ApiError(Exception):
    pass


def _request(base: str, path: str, token: str | None, data: bytes | None = None,
             timeout: float = 30.0) -> tuple[bytes, dict[str, str]]:
    """One call; a 503 with Retry-After (a worker just started, partitions still being
    assigned) is tried again as it says, for up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return _request_once(base, path, token, data, timeout)
        except _RetryLater as exc:
            if time.monotonic() + exc.after > deadline:
                raise ApiError(str(exc)) from None
            time.sleep(exc.after)


class _RetryLater(Exception):
    def __init__(self, message: str, after: float) -> None:
        super().__init__(message)
        self.after = after


def _request_once(base: str, path: str, token: str | None, data: bytes | None,
                  timeout: float) -> tuple[bytes, dict[str, str]]:
    request = urllib.request.Request(base + path, data=data)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.read(), dict(resp.headers.items())
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode("utf-8", "replace")
        retry = exc.headers.get("Retry-After", "")
        if exc.code == 503 and retry.isdigit():
            raise _RetryLater(f"worker answered 503: {detail}", float(retry)) from None
        raise ApiError(f"worker answered {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ApiError(f"cannot reach the worker at {base}: {exc}") from None


def fetch_report(base: str, token: str | None, as_of: str | None,
                 timeout: float) -> tuple[str, bytes]:
    """Trigger a report and wait for it; return (report id, CSV bytes)."""
    body = json.dumps({"as_of": as_of} if as_of else {}).encode()
    raw, _ = _request(base, "/trigger_report", token, data=body)
    report_id = json.loads(raw)["report_id"]
    deadline = time.monotonic() + timeout
    while True:
        raw, headers = _request(base, f"/get_report/{report_id}", token)
        status = headers.get("X-Report-Status")
        if status == "Complete":
            return report_id, raw
        if status != "Running":
            doc = json.loads(raw)
            raise ApiError(f"report {report_id} {doc.get('status')}: {doc.get('error')}")
        if time.monotonic() > deadline:
            raise ApiError(f"report {report_id} still running after {timeout:.0f}s")
        time.sleep(POLL_INTERVAL)


def run(args: argparse.Namespace) -> int:
    settings = config.load()
    base = (args.url or f"http://127.0.0.1:{settings.web_port}").rstrip("/")
    started = time.monotonic()
    try:
        report_id, body = fetch_report(base, settings.api_token, args.as_of, args.timeout)
    except ApiError as exc:
        print(f"streamproc snapshot: {exc}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(body)
    rows = body.count(b"\n") - 1
    print(f"snapshot: report {report_id}, {rows} stores, {time.monotonic() - started:.2f}s "
          f"-> {args.out}")
    return 0
