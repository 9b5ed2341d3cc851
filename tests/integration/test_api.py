"""The report API end to end: a real worker on the real broker, over HTTP.

Data is a small generated set replayed with `streamproc replay`; every finished report is
compared, byte for byte, with `streamproc report` (the batch command) on the same files.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from streamproc.sandbox import WorkerProcess, run_cli
from streamproc.sandbox.http import request
from tests.support.data import batch_report, generate, replay
from tests.support.worker_fixture import isolated_worker

HEADER = ("store_id,uptime_last_hour,uptime_last_day,uptime_last_week,"
          "downtime_last_hour,downtime_last_day,downtime_last_week")
AS_OF = "2023-01-24T10:30:00Z"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("api-data"), 60, 8, 7)


@pytest.fixture(scope="module")
def batch(dataset, tmp_path_factory):
    """``batch(as_of=None)``: the batch command's CSV text for the data set."""
    cache: dict[str | None, str] = {}
    tmp = tmp_path_factory.mktemp("batch")

    def run(as_of: str | None = None) -> str:
        if as_of not in cache:
            out = tmp / f"batch-{len(cache)}.csv"
            cache[as_of] = batch_report(dataset, out, *(["--as-of", as_of] if as_of else []))
        return cache[as_of]

    return run


class Http:
    def __init__(self, base: str, token: str | None = None) -> None:
        self.base = base
        self.token = token

    def call(self, path: str, method: str = "GET", body: bytes | None = None,
             token: str | None = None, headers: dict[str, str] | None = None):
        """(status, headers, body bytes) without raising on 4xx/5xx."""
        tok = token if token is not None else self.token
        auth = {"Authorization": f"Bearer {tok}"} if tok else {}
        return request(self.base, path, method, body, {**auth, **(headers or {})}, timeout=60)

    def json(self, path: str, **kw):
        status, _, body = self.call(path, **kw)
        return status, json.loads(body)

    def trigger(self, as_of: str | None = None, method: str = "POST") -> str:
        if method == "POST":
            body = json.dumps({"as_of": as_of} if as_of else {}).encode()
            status, doc = self.json("/trigger_report", method="POST", body=body,
                                    headers={"Content-Type": "application/json"})
        else:
            q = f"?as_of={as_of}" if as_of else ""
            status, doc = self.json("/trigger_report" + q)
        assert status == 200, doc
        return doc["report_id"]

    def wait(self, report_id: str, timeout: float = 120.0, by_path: bool = True):
        path = f"/get_report/{report_id}" if by_path else f"/get_report?report_id={report_id}"
        deadline = time.monotonic() + timeout
        while True:
            status, headers, body = self.call(path)
            if status == 503 and headers.get("Retry-After"):  # a restarted worker catching up
                assert time.monotonic() < deadline, f"report {report_id} still unavailable"
                time.sleep(0.2)
                continue
            assert status == 200, (status, body)
            if headers.get("X-Report-Status") != "Running":
                return headers, body
            assert json.loads(body) == {"status": "Running", "report_id": report_id}
            assert time.monotonic() < deadline, f"report {report_id} still Running"
            time.sleep(0.1)


@contextmanager
def _replayed_worker(broker: str, tmp_path: Path, dataset: Path,
                     **env_extra: str) -> Iterator[WorkerProcess]:
    """A worker of its own (settings from ``env_extra``) with the data set replayed."""
    with isolated_worker(broker, tmp_path, **env_extra) as handle:
        replay(handle.env, dataset)
        yield handle


@pytest.fixture
def slow_worker(kafka_broker, tmp_path):
    """A worker whose reports take 2 s more, so that Running can be observed."""
    with isolated_worker(kafka_broker, tmp_path, STREAMPROC_REPORT_DELAY="2") as handle:
        yield handle


def test_trigger_running_then_complete_equals_batch(slow_worker, dataset, batch):
    replay(slow_worker.env, dataset)
    api = Http(slow_worker.base_url)
    report_id = api.trigger()
    assert len(report_id) == 22
    status, doc = api.json(f"/get_report?report_id={report_id}")
    assert (status, doc) == (200, {"status": "Running", "report_id": report_id})
    headers, body = api.wait(report_id, by_path=False)
    assert headers["X-Report-Status"] == "Complete"
    assert headers["Content-Type"].startswith("text/csv")
    assert headers["Content-Disposition"] == f'attachment; filename="report_{report_id}.csv"'
    assert body.decode() == batch()
    # the same report by path, and listed as Complete with its row count
    _, again = api.wait(report_id)
    assert again == body
    status, listing = api.json("/reports")
    entry = next(r for r in listing["reports"] if r["id"] == report_id)
    assert entry["status"] == "Complete" and entry["rows"] == 60


def test_json_format_as_of_and_cli(worker, dataset, batch, tmp_path):
    replay(worker.env, dataset)
    api = Http(worker.base_url)
    report_id = api.trigger(method="GET")
    _, csv_body = api.wait(report_id)
    assert csv_body.decode() == batch()
    status, doc = api.json(f"/get_report/{report_id}?format=json")
    assert status == 200 and doc["status"] == "Complete"
    lines = csv_body.decode().splitlines()
    assert lines[0] == HEADER and len(doc["report"]) == len(lines) - 1 == 60
    for row, line in zip(doc["report"], lines[1:], strict=True):
        cells = line.split(",")
        assert row["store_id"] == cells[0]
        assert [row[k] for k in HEADER.split(",")[1:]] == [float(c) for c in cells[1:]]
    # as_of: in a JSON body and in the query
    for rid in (api.trigger(as_of=AS_OF), api.trigger(as_of=AS_OF, method="GET")):
        _, body = api.wait(rid)
        assert body.decode() == batch(AS_OF) != batch()
    # the CLI goes through trigger/get
    out = tmp_path / "cli.csv"
    run_cli(worker.env, "snapshot", "--out", str(out))
    assert out.read_text() == batch()
    # bad input is a 4xx JSON error, never a 500
    for path, method, body, code in [
        ("/trigger_report?as_of=yesterday", "GET", None, 400),
        ("/trigger_report", "POST", b'{"as_of": "2023-13-45T00:00:00Z"}', 400),
        ("/trigger_report", "POST", b"not json", 400),
        ("/trigger_report", "POST", b"[1, 2]", 400),
        ("/trigger_report", "POST", b'{"as_of": 5}', 400),
        ("/trigger_report", "POST", b"x" * 70_000, 413),
        ("/trigger_report", "DELETE", None, 405),
        ("/get_report", "GET", None, 400),
        (f"/get_report/{report_id}?format=xml", "GET", None, 400),
        ("/reports?limit=0", "GET", None, 400),
        ("/reports?limit=abc", "GET", None, 400),
        ("/no/such/route", "GET", None, 404),
    ]:
        status, headers, raw = api.call(path, method=method, body=body)
        assert status == code, (path, method, status, raw)
        assert "error" in json.loads(raw)


MALFORMED_IDS = [
    "AAAAAAAAAAAAAAAAAAAAAA",  # well formed, unknown
    "../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "..%252F..%252Fetc%252Fpasswd",
    "AAAAAAAAAAAAAAAAAAAAA%00",
    "x" * 5000,
    ".AAAAAAAAAAAAAAAAAAAAA.csv.tmp",
    "",
]


def test_unknown_and_malformed_ids_are_404(worker):
    api = Http(worker.base_url)
    for report_id in MALFORMED_IDS:
        for path in (f"/get_report?report_id={report_id}", f"/get_report/{report_id}"):
            status, _, body = api.call(path)
            assert status == 404, (path, status, body)
            assert "error" in json.loads(body)
            assert b"root:" not in body


def test_openapi_and_docs(worker):
    api = Http(worker.base_url)
    status, spec = api.json("/openapi.json")
    assert status == 200 and spec["openapi"].startswith("3.1")
    for path in ("/health", "/snapshot.csv", "/trigger_report", "/get_report",
                 "/get_report/{report_id}", "/reports", "/openapi.json", "/docs"):
        assert path in spec["paths"], path
    assert set(spec["paths"]["/trigger_report"]) == {"get", "post"}
    status, headers, body = api.call("/docs")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    page = body.decode()
    assert "/get_report/{report_id}" in page and "<script" not in page and "://" not in page


def test_token_required_when_configured(kafka_broker, tmp_path, dataset, batch):
    token = "s3cret-token-for-tests"
    with isolated_worker(kafka_broker, tmp_path, STREAMPROC_API_TOKEN=token) as handle:
        anonymous = Http(handle.base_url)
        assert anonymous.call("/health")[0] == 200
        for path in ("/reports", "/openapi.json", "/docs", "/snapshot.csv", "/trigger_report",
                     "/get_report/AAAAAAAAAAAAAAAAAAAAAA", "/no/such/route"):
            for tok in ("", "wrong", token + "x"):
                status, headers, body = anonymous.call(path, token=tok)
                assert status == 401, (path, tok, status)
                assert "error" in json.loads(body)
                assert headers["WWW-Authenticate"].startswith("Bearer")
        # the dashboard page and its assets hold no data; tokens never travel in a URL (the
        # dashboard exchanges its token for a session cookie, POST /session)
        assert anonymous.call("/")[0] == 200
        assert anonymous.call("/static/dashboard.js")[0] == 200
        assert anonymous.call("/reports?access_token=wrong")[0] == 401
        assert anonymous.call(f"/reports?access_token={token}")[0] == 401
        api = Http(handle.base_url, token)
        replay(handle.env, dataset)
        _, body = api.wait(api.trigger())
        assert body.decode() == batch()
        out = tmp_path / "cli.csv"  # the CLI sends the token from STREAMPROC_API_TOKEN
        run_cli(handle.env, "snapshot", "--out", str(out))
        assert out.read_text() == batch()


@pytest.mark.parametrize("pause", [0.0, 1.5])
def test_report_survives_a_worker_kill(kafka_broker, tmp_path, dataset, batch, pause):
    """kill -9 while a report runs: after a restart it ends Complete (or Failed), not Running,
    and reports finished before the kill are still served."""
    with _replayed_worker(kafka_broker, tmp_path, dataset, STREAMPROC_REPORT_DELAY="3") as handle:
        api = Http(handle.base_url)
        done_id = api.trigger()
        _, done_body = api.wait(done_id)
        assert done_body.decode() == batch()
        running_id = api.trigger()
        time.sleep(pause)
        assert api.json(f"/get_report/{running_id}")[1]["status"] == "Running"
        handle.kill(signal.SIGKILL)
        handle.start()
        api = Http(handle.base_url)
        headers, body = api.wait(running_id, timeout=120)
        if headers["X-Report-Status"] == "Complete":
            assert body.decode() == batch()
        else:
            assert json.loads(body)["status"] == "Failed"
        _, again = api.wait(done_id)
        assert again == done_body
        status, listing = api.json("/reports")
        states = {r["id"]: r["status"] for r in listing["reports"]}
        assert states[done_id] == "Complete"
        assert states[running_id] in ("Complete", "Failed")


def test_finished_reports_expire_and_their_files_go(kafka_broker, tmp_path, dataset):
    """With a 2 s retention, a Complete report becomes Expired (410) and its CSV is deleted."""
    retention = {"STREAMPROC_REPORT_RETENTION_HOURS": repr(2 / 3600)}
    with _replayed_worker(kafka_broker, tmp_path, dataset, **retention) as handle:
        api = Http(handle.base_url)
        report_id = api.trigger()
        headers, _ = api.wait(report_id)
        assert headers["X-Report-Status"] == "Complete"
        path = handle.state_dir / "reports" / f"{report_id}.csv"
        assert path.is_file()
        deadline = time.monotonic() + 30
        while True:
            status, headers, body = api.call(f"/get_report/{report_id}")
            if status != 200:
                break
            assert time.monotonic() < deadline, "report never expired"
            time.sleep(0.2)
        doc = json.loads(body)
        assert status == 410 and headers["X-Report-Status"] == "Expired", (status, doc)
        assert doc["status"] == "Expired" and "trigger a new one" in doc["error"]
        assert not path.exists()
        _, listing = api.json("/reports")
        entry = next(r for r in listing["reports"] if r["id"] == report_id)
        assert entry["status"] == "Expired" and entry["expired"] >= entry["completed"]
