"""Live monitoring against real workers: /stores/{id}, /fleet, /live, /metrics, alerts."""

from __future__ import annotations

import csv
import io
import json
import signal
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from streamproc.core.records import US_PER_MINUTE
from streamproc.sandbox import WorkerProcess
from streamproc.sandbox.http import get_json, request
from tests.support.data import generate, replay
from tests.support.kafka import send_raw
from tests.support.live import SseReader, open_active_store, produce_polls
from tests.support.receivers import HttpReceiver
from tests.support.worker_fixture import peer_worker

FIELDS = ("uptime_last_hour", "uptime_last_day", "uptime_last_week",
          "downtime_last_hour", "downtime_last_day", "downtime_last_week")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("live-data"), 40, 8, 5)


def snapshot_rows(worker: WorkerProcess) -> dict[str, dict[str, str]]:
    return {r["store_id"]: r for r in csv.DictReader(io.StringIO(worker.snapshot_csv()))}


def fleet_when(base_url: str, predicate, timeout: float = 10.0) -> dict:
    """/fleet once it satisfies ``predicate`` (its figures are cached for up to a second)."""
    deadline = time.monotonic() + timeout
    while True:
        fleet = get_json(base_url, "/fleet?limit=1000")
        if predicate(fleet) or time.monotonic() > deadline:
            return fleet
        time.sleep(0.2)


def metric_values(base_url: str) -> dict[tuple[str, tuple], float]:
    with urllib.request.urlopen(base_url + "/metrics", timeout=30) as resp:
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = resp.read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_store_fleet_metrics_and_live(worker, dataset):
    before = metric_values(worker.base_url)
    replay(worker.env, dataset)
    rows = snapshot_rows(worker)
    assert len(rows) == 40

    # /stores/{id}: the report's six values at the watermark, and the live details
    for store_id, row in rows.items():
        doc = get_json(worker.base_url, f"/stores/{store_id}")
        assert doc["store_id"] == store_id
        for f in FIELDS:
            assert f"{doc['report'][f]:.2f}" == row[f], (store_id, f)
        if doc["status"] is not None:
            assert doc["status"] in ("active", "inactive")
            assert doc["since_us"] <= doc["watermark_us"]
            assert doc["last_poll_us"] is not None
    assert request(worker.base_url, "/stores/no-such-store", timeout=10)[0] == 404
    assert request(worker.base_url, "/stores/bad%20id", timeout=10)[0] == 400

    # /fleet sums the same values
    fleet = fleet_when(worker.base_url, lambda f: f["stores"] == 40)
    assert len(fleet["worst"]) == 40
    up_week = sum(float(r["uptime_last_week"]) for r in rows.values()) * 3600
    assert abs(fleet["windows"]["week"]["up_s"] - up_week) <= 40 * 0.005 * 3600
    hourly = get_json(worker.base_url, "/fleet/hourly")
    assert len(hourly["up_s"]) == 168
    day = fleet["windows"]["day"]["up_s"] + fleet["windows"]["day"]["down_s"]
    # the last 24 hour buckets start after now - 24h (the first is partial), 25 start before
    last24 = sum(hourly["up_s"][-24:]) + sum(hourly["down_s"][-24:])
    last25 = sum(hourly["up_s"][-25:]) + sum(hourly["down_s"][-25:])
    assert last24 - 1e-3 <= day <= last25 + 1e-3

    # /metrics parses and its counters moved with the replay
    after = metric_values(worker.base_url)
    polls_topic = worker.env["STREAMPROC_TOPIC_POLLS"]
    key = ("streamproc_messages_consumed_total", (("topic", polls_topic),))
    assert after[key] > before.get(key, 0)
    assert after[("streamproc_polls_applied_total", ())] >= 6302
    assert after[("streamproc_stores_tracked", ())] == 40
    assert after[("streamproc_watermark_seconds", ())] > 1.6e9
    assert all(v == 0 for (name, _), v in after.items() if name == "streamproc_consumer_lag")

    # /live: a store going down during business hours shows up as an event
    reader = SseReader(worker.base_url)
    try:
        store_id, now = open_active_store(worker.base_url)
        produce_polls(worker.env, [(store_id, [(now + 1_000_000, False)])])
        event = reader.wait_for(lambda e: e["store_id"] == store_id)
        assert event["kind"] == "down" and event["status"] == "inactive"
        assert event["since_us"] == now + 1_000_000
        doc = get_json(worker.base_url, f"/stores/{store_id}")
        assert doc["status"] == "inactive" and doc["since_us"] == now + 1_000_000
        produce_polls(worker.env, [(store_id, [(now + 61_000_000, True)])])
        back = reader.wait_for(lambda e: e["store_id"] == store_id and e["kind"] == "up")
        assert back["outage_since_us"] == now + 1_000_000
        assert back["down_business_s"] == pytest.approx(60.0)
    finally:
        reader.close()
    final = metric_values(worker.base_url)
    assert final[("streamproc_outage_events_total", (("kind", "down"),))] >= 1


def _owners(base_url: str, table: str) -> dict[str, list[int]]:
    meta = get_json(base_url, "/router/")
    return {host.rstrip("/"): sorted(tps.get(table, [])) for host, tps in meta.items()}


def test_store_owned_by_another_worker(worker, dataset, tmp_path):
    table = f"{worker.env['STREAMPROC_APP_ID']}-store-state-changelog"
    with peer_worker(worker.env, tmp_path, "2").running() as second:
        deadline = time.monotonic() + 120
        while True:  # until both workers agree that each holds part of the store states
            worker.wait_ready()
            second.wait_ready()
            views = [_owners(w.base_url, table) for w in (worker, second)]
            if views[0] == views[1] and sum(1 for tps in views[0].values() if tps) == 2:
                break
            assert time.monotonic() < deadline, f"partitions never split: {views}"
            time.sleep(1)
        replay(worker.env, dataset)
        # compare with the owner's report at the watermark the answer used: each worker reads
        # the global watermark table, which can trail for a moment on the other worker
        handles = {w.base_url: w for w in (worker, second)}
        rows = {k: v for w in (worker, second) for k, v in snapshot_rows(w).items()}
        assert len(rows) == 40
        snapshots: dict[tuple[str, str], dict] = {}
        owners: dict[str, set[str]] = {}
        for store_id in rows:
            answers = [get_json(w.base_url, f"/stores/{store_id}") for w in (worker, second)]
            assert answers[0]["served_by"] == answers[1]["served_by"]
            assert answers[0]["report"] == answers[1]["report"]
            owner = answers[0]["served_by"].rstrip("/")
            key = (owner, answers[0]["watermark"])
            if key not in snapshots:
                csv_text = handles[owner].snapshot_csv(as_of=answers[0]["watermark"])
                snapshots[key] = {r["store_id"]: r for r in csv.DictReader(io.StringIO(csv_text))}
            row = snapshots[key][store_id]
            for f in FIELDS:
                assert f"{answers[0]['report'][f]:.2f}" == row[f], (store_id, f)
            owners.setdefault(owner, set()).add(store_id)
        assert set(owners) == {worker.base_url, second.base_url}, owners
        fleet = fleet_when(worker.base_url, lambda f: f["stores"] == 40)
        assert fleet["workers"] == 2


# -- alerts ----------------------------------------------------------------------------------


def test_alerts_once_per_outage_and_recovery_even_after_restart(worker_env, tmp_path):
    receiver = HttpReceiver(fail_first=1)
    env = dict(worker_env, STREAMPROC_ALERT_WEBHOOK=receiver.url("http"),
               STREAMPROC_ALERT_AFTER="2")

    def alerts(n: int = 0) -> list[dict]:
        return [item["json"] for item in (receiver.wait(n) if n else receiver.received)]

    with WorkerProcess(env, tmp_path / "alerts.log").running() as handle:
        t = 1_674_000_000_000_000
        m = US_PER_MINUTE
        store = "alert-store-1"  # no hours row: open 24x7
        reader = SseReader(handle.base_url)
        produce_polls(env, [(store, [(t, True)])])
        produce_polls(env, [(store, [(t + 1 * m, False)])])
        produce_polls(env, [(store, [(t + 2 * m, False)])])  # down 1 business minute: quiet
        time.sleep(2.5)
        assert alerts() == []
        produce_polls(env, [(store, [(t + 4 * m, False)])])  # down 3 minutes: alert
        sustained = reader.wait_for(lambda e: e["kind"] == "sustained")
        assert sustained["since_us"] == t + m
        got = alerts(1)
        assert [a["type"] for a in got] == ["outage"]
        assert got[0]["store_id"] == store and receiver.attempts == 2  # retried after a 500
        produce_polls(env, [(store, [(t + 6 * m, True)])])
        got = alerts(2)
        assert [a["type"] for a in got] == ["outage", "recovery"]
        assert got[1]["down_business_minutes"] == 5.0
        reader.close()

        # a restart, then the same events delivered again: nothing is sent twice
        handle.kill(signal.SIGTERM)
        handle.start()
        [sent] = send_raw(env, [(env["STREAMPROC_TOPIC_OUTAGES"], store.encode(),
                                 json.dumps(sustained).encode())])
        assert isinstance(sent, tuple), sent
        time.sleep(4)
        assert [a["type"] for a in alerts()] == ["outage", "recovery"]

        # a new outage of the same store is alerted again
        produce_polls(env, [(store, [(t + 10 * m, False)])])
        produce_polls(env, [(store, [(t + 14 * m, False)])])
        got = alerts(3)
        assert [a["type"] for a in got] == ["outage", "recovery", "outage"]
        assert got[2]["alert_id"] == f"{store}:{t + 10 * m}:outage"
