"""POST /events on a real worker: NDJSON and CSV bodies give the batch command's report, with no
wait between the answer and the report (the answer comes after the broker's acknowledgement);
bad lines come back with their reasons and reach the dead-letter topic; limits are enforced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streamproc.sandbox.http import request
from tests.support.data import batch_report
from tests.support.events import BAD, as_events
from tests.support.kafka import dead_letters

NDJSON = {"Content-Type": "application/x-ndjson"}
CSV = {"Content-Type": "text/csv"}


def post(worker, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    status, _, data = request(worker.base_url, "/events", "POST", body, headers)
    return status, json.loads(data)


def ndjson(events: list[dict]) -> bytes:
    return "\n".join(json.dumps(e) for e in events).encode() + b"\n"


def test_ndjson_and_csv_bodies_give_the_batch_report_at_once(worker, dataset, tmp_path):  # noqa: F811
    events = as_events(dataset)
    polls = [e for e in events if e["type"] == "poll"]
    half = len(polls) // 2
    status, answer = post(worker, ndjson(polls[:half] + [doc for doc, _ in BAD]), NDJSON)
    assert status == 200, answer
    assert answer["accepted"] == half and answer["rejected"] == len(BAD)
    assert [e["reason"] for e in answer["errors"]] == [reason for _, reason in BAD]
    assert [e["line"] for e in answer["errors"]] == [half + 1, half + 2, half + 3]
    # The rest of the polls, the hours and the zones as the CSV files themselves.
    rest = ("store_id,status,timestamp_utc\n" + "".join(
        f"{e['store_id']},{e['status']},{e['timestamp_utc']}\n" for e in polls[half:]))
    for body in (rest.encode(), (dataset / "menu_hours.csv").read_bytes(),
                 (dataset / "timezones.csv").read_bytes()):
        status, answer = post(worker, body, CSV)
        assert status == 200 and answer["rejected"] == 0, answer
    assert worker.snapshot_csv() == batch_report(dataset, tmp_path / "batch.csv")
    letters = [d for d in dead_letters(worker.env) if d["source"] == "POST /events"]
    assert sorted(d["reason"] for d in letters) == sorted(reason for _, reason in BAD)


def test_events_on_the_topic_are_in_a_snapshot_taken_right_after_publishing(worker, dataset,  # noqa: F811
                                                                            tmp_path):
    from tests.support.events import messages, publish

    topic = worker.env["STREAMPROC_TOPIC_EVENTS"]
    publish(worker.env, messages(topic, as_events(dataset)))
    assert worker.snapshot_csv() == batch_report(dataset, tmp_path / "batch.csv")


@pytest.mark.parametrize(("body", "headers", "status", "message"), [
    (b"[1,", {"Content-Type": "application/json"}, 400, "must be JSON"),
    (b"<xml/>", {"Content-Type": "application/xml"}, 415, "unsupported Content-Type"),
    (b"x" * (64 * 1024 + 1), NDJSON, 413, "larger than 65536"),
])
def test_unreadable_or_oversized_bodies_are_refused(events_worker, body, headers, status,
                                                    message):
    got, answer = post(events_worker, body, headers)
    assert got == status and message in answer["error"], answer


@pytest.fixture(scope="module")
def events_worker(kafka_broker, tmp_path_factory):
    """One worker with a small body limit, shared by the refusal cases."""
    from tests.support.worker_fixture import isolated_worker

    tmp: Path = tmp_path_factory.mktemp("events-limit")
    with isolated_worker(kafka_broker, tmp, STREAMPROC_EVENTS_MAX_BYTES=str(64 * 1024)) as w:
        yield w


def test_a_poller_token_publishes_and_reads_nothing(kafka_broker, tmp_path):
    import hashlib

    from tests.support.worker_fixture import isolated_worker

    poller = {"Authorization": "Bearer poller-secret-1", **NDJSON}
    digest = hashlib.sha256(b"poller-secret-1").hexdigest()
    event = {"type": "poll", "store_id": "p1", "status": "active",
             "timestamp_utc": "2023-01-25 18:00:00 UTC"}
    with isolated_worker(kafka_broker, tmp_path, STREAMPROC_API_TOKEN="op-secret-1",
                         STREAMPROC_POLLER_TOKENS_SHA256=digest) as w:
        status, answer = post(w, ndjson([event]), poller)
        assert status == 200 and answer["accepted"] == 1, answer
        for path in ("/stores/p1", "/fleet", "/reports", "/snapshot.csv"):
            got, _, _ = request(w.base_url, path,
                                headers={"Authorization": poller["Authorization"]})
            assert got == 403, path
        got, _, _ = request(w.base_url, "/events", "POST", ndjson([event]), NDJSON)
        assert got == 401
        got, _, body = request(w.base_url, "/snapshot.csv",  # waits for what was acknowledged
                               headers={"Authorization": "Bearer op-secret-1"})
        assert got == 200 and body.decode().splitlines()[1].startswith("p1,"), body
