"""`streamproc snapshot`: fetch a consistent report snapshot from a running worker."""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from streamproc import config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write")
    parser.add_argument("--as-of", help="report at this UTC time instead of the watermark")
    parser.add_argument("--url", help="worker base URL (default http://127.0.0.1:$STREAMPROC_WEB_PORT)")
    parser.add_argument("--timeout", type=float, default=120.0)


def run(args: argparse.Namespace) -> int:
    settings = config.load()
    base = args.url or f"http://127.0.0.1:{settings.web_port}"
    query = f"?{urllib.parse.urlencode({'as_of': args.as_of})}" if args.as_of else ""
    request = urllib.request.Request(base + "/snapshot.csv" + query)
    if settings.api_token:
        request.add_header("Authorization", f"Bearer {settings.api_token}")
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as resp:
            body = resp.read()
            now = resp.headers.get("X-Snapshot-Now", "")
            seconds = resp.headers.get("X-Snapshot-Seconds", "")
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode("utf-8", "replace")
        print(f"streamproc snapshot: worker answered {exc.code}: {detail}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"streamproc snapshot: cannot reach the worker at {base}: {exc}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(body)
    rows = body.count(b"\n") - 1
    print(f"snapshot: {rows} stores, now {now}, {seconds}s -> {args.out}")
    return 0
