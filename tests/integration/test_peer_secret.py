"""Worker-to-worker routes answer to the peer secret alone; /live has a subscriber cap."""

from __future__ import annotations

import json
import urllib.request

from streamproc.sandbox import wait_split
from streamproc.sandbox.http import JSON, request, wait_report
from tests.support.data import batch_report, generate, replay
from tests.support.worker_fixture import started_peers

TOKEN, SECRET = "client-token", "peer-secret"
CLIENT = {"Authorization": f"Bearer {TOKEN}"}
PEER = {"Authorization": f"Bearer {SECRET}"}


def test_internal_routes_need_the_peer_secret(worker_env, tmp_path):
    env = dict(worker_env, STREAMPROC_API_TOKEN=TOKEN, STREAMPROC_PEER_SECRET=SECRET,
               STREAMPROC_LIVE_MAX_CLIENTS="2")
    with started_peers(env, tmp_path, "ab") as (a, b):
        wait_split([a, b])
        data = generate(tmp_path / "data", 40, 8, 9)
        replay(a.env, data)
        rows = ("/internal/rows", "POST", b'{"now": null}')
        assert request(a.base_url, *rows, {**JSON, **CLIENT})[0] == 401
        assert request(a.base_url, *rows, JSON)[0] == 401
        assert request(a.base_url, *rows, {**JSON, **PEER})[0] == 200
        assert request(a.base_url, "/fleet", headers=PEER)[0] == 401  # a client route
        status, _, body = request(a.base_url, "/trigger_report", "POST", b"{}",
                                  {**JSON, **CLIENT})
        assert status == 200, body
        report_id = json.loads(body)["report_id"]
        csv = wait_report(b.base_url, report_id, 90, headers=CLIENT)
        assert csv == batch_report(data, tmp_path / "batch.csv").encode()
        _live_cap(a.base_url)


def _live_cap(base: str) -> None:
    """Two /live clients are served, the third gets 503 with Retry-After."""
    streams = []
    try:
        for _ in range(2):
            req = urllib.request.Request(base + "/live", headers=CLIENT)
            streams.append(urllib.request.urlopen(req, timeout=30))
            assert streams[-1].readline().startswith(b"retry:")
        status, headers, body = request(base, "/live", headers=CLIENT)
        assert status == 503 and headers.get("Retry-After"), body
    finally:
        for stream in streams:
            stream.close()
