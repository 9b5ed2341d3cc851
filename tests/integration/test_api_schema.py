"""Property-based API testing: schemathesis against the worker's own /openapi.json.

Every documented operation is called with generated inputs (plus the stateful
trigger -> get_report link) and every check runs (``--checks all``): no 5xx, every response
matches the documented status codes, content types, headers and schemas, schema-valid
requests are accepted and schema-violating ones refused. The documented ``as_of`` pattern is
stricter than the parser (which also takes "YYYY-MM-DD HH:MM:SS UTC", offsets...), so every
value the schema allows is accepted.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from streamproc.sandbox.http import request
from tests.support.data import batch_report, generate, replay
from tests.support.worker_fixture import isolated_worker

TOKEN = "schemathesis-token"
OWNER_TOKEN = "schemathesis-owner-token"
POLLER_TOKEN = "schemathesis-poller-token"


def _schemathesis() -> list[str]:
    # The venv's own script first: CI runs `.venv/bin/python -m pytest` without activating it.
    here = Path(sys.executable).parent / "schemathesis"
    exe = str(here) if here.exists() else shutil.which("schemathesis") or shutil.which("st")
    if exe is None:
        pytest.skip("schemathesis is not installed (pip install -e '.[test]')")
    return [exe]


@pytest.mark.parametrize("role", ["operator", "owner", "poller"])
def test_schemathesis_finds_no_server_errors_or_schema_violations(kafka_broker, tmp_path, role):
    """With the operator's token, an owner's (who sees half the stores and gets 403 on the
    operator routes) and a poller's (POST /events only; it found POST /session answering a
    role the document did not have): the same spec holds for all. The spec is read with the
    operator's token (a poller may not read it) and given as a file."""
    cmd = _schemathesis()
    data = generate(tmp_path / "data", 30, 8, 3)
    stores = [line.split(",", 1)[0] for line in
              batch_report(data, tmp_path / "batch.csv").splitlines()[1:]]
    digest = hashlib.sha256(OWNER_TOKEN.encode()).hexdigest()
    owners = tmp_path / "owners.csv"
    owners.write_text("owner_id,token_sha256,store_id\n"
                      + "".join(f"dana,{digest},{s}\n" for s in stores[::2]))
    token = {"operator": TOKEN, "owner": OWNER_TOKEN, "poller": POLLER_TOKEN}[role]
    pollers = hashlib.sha256(POLLER_TOKEN.encode()).hexdigest()
    with isolated_worker(kafka_broker, tmp_path, STREAMPROC_API_TOKEN=TOKEN,
                         STREAMPROC_OWNERS_FILE=str(owners),
                         STREAMPROC_POLLER_TOKENS_SHA256=pollers) as handle:
        replay(handle.env, data)
        status, _, spec = request(handle.base_url, "/openapi.json",
                                  headers={"Authorization": f"Bearer {TOKEN}"})
        assert status == 200
        (tmp_path / "openapi.json").write_bytes(spec)
        proc = subprocess.run(
            [*cmd, "run", str(tmp_path / "openapi.json"), "--url", handle.base_url,
             "--header", f"Authorization: Bearer {token}",
             "--checks", "all",
             "--max-examples", "15", "--generation-deterministic",
             "--request-timeout", "60", "--no-color"],
            capture_output=True, text=True, timeout=240,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        print(proc.stdout[-1200:])
        assert proc.returncode == 0, f"{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}"
        health = handle.get_json("/health")
        assert health["status"] == "ok"
