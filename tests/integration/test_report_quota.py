"""Finding 4 of issue 25 on a real worker: an owner may have only
``STREAMPROC_REPORT_MAX_RUNNING_PER_OWNER`` reports generating at once (then 429 with
Retry-After), so the worker's generation slots are never all one owner's; other owners and
the operator are not refused. A worker asked for some stores' rows evaluates only those."""

from __future__ import annotations

import hashlib
import json
import time

from streamproc.sandbox.http import request
from tests.support.data import generate, replay
from tests.support.worker_fixture import isolated_worker

OP, ALICE, BOB = "quota-op-token", "quota-alice-token", "quota-bob-token"


def _owners(tmp_path):
    path = tmp_path / "owners.csv"
    rows = [f"alice,{hashlib.sha256(ALICE.encode()).hexdigest()},s1",
            f"bob,{hashlib.sha256(BOB.encode()).hexdigest()},s2"]
    path.write_text("owner_id,token_sha256,store_id\n" + "\n".join(rows) + "\n")
    return path


def _trigger(base_url: str, token: str, as_of: str):
    body = json.dumps({"as_of": as_of}).encode()
    return request(base_url, "/trigger_report", "POST", body,
                   {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})


def test_an_owner_at_their_running_cap_gets_429_and_nobody_else_does(kafka_broker, tmp_path):
    with isolated_worker(kafka_broker, tmp_path, STREAMPROC_API_TOKEN=OP,
                         STREAMPROC_OWNERS_FILE=str(_owners(tmp_path)),
                         STREAMPROC_REPORT_DELAY="6",
                         STREAMPROC_REPORT_MAX_RUNNING_PER_OWNER="1") as handle:
        url = handle.base_url
        assert _trigger(url, ALICE, "2026-01-01T00:00:00Z")[0] == 200
        status, headers, body = _trigger(url, ALICE, "2026-01-02T00:00:00Z")
        assert status == 429, body
        assert int(headers["Retry-After"]) >= 1
        assert "at most 1" in json.loads(body)["error"]
        assert _trigger(url, BOB, "2026-01-03T00:00:00Z")[0] == 200
        assert _trigger(url, OP, "2026-01-04T00:00:00Z")[0] == 200
        assert _trigger(url, OP, "2026-01-05T00:00:00Z")[0] == 200  # the operator waits


def test_internal_rows_evaluate_only_the_stores_asked_for(kafka_broker, tmp_path):
    """What an owner's report asks each worker: the rows of the owner's stores only."""
    data = generate(tmp_path / "data", 12, 2, 5)
    peer = "quota-peer-secret"
    with isolated_worker(kafka_broker, tmp_path, STREAMPROC_PEER_SECRET=peer) as handle:
        replay(handle.env, data)
        headers = {"Authorization": f"Bearer {peer}", "Content-Type": "application/json"}

        def rows(stores):
            body = json.dumps({"now": None, "stores": stores}).encode()
            status, _, raw = request(handle.base_url, "/internal/rows", "POST", body, headers)
            assert status == 200, raw
            return [row[0] for row in json.loads(raw)["rows"]]

        deadline = time.monotonic() + 30  # /internal/rows does not wait for the replay
        while len(every := rows(None)) < 12 and time.monotonic() < deadline:
            time.sleep(0.3)
        assert len(every) == 12
        assert rows(every[3:5]) == every[3:5]
        assert rows([]) == []
