"""One fleet view: /stores/{id}, /fleet, /fleet/hourly and /live give the same answer, at the
same watermark, whichever worker is asked."""

from __future__ import annotations

import json

from streamproc.sandbox import wait_for
from streamproc.sandbox.http import request
from tests.support.data import generate, replay
from tests.support.live import SseReader, open_active_store, produce_polls

VOLATILE = ("served_by",)


def _get(base: str, path: str) -> dict:
    status, _, body = request(base, path, timeout=30)
    assert status == 200, (path, status, body[:300])
    doc = json.loads(body)
    return {k: v for k, v in doc.items() if k not in VOLATILE}


def _same_everywhere(handles, path: str) -> dict:
    """The answer once every worker gives the same one (they converge within seconds)."""

    def agree() -> dict | None:
        docs = [_get(h.base_url, path) for h in handles]
        return docs[0] if all(d == docs[0] for d in docs) else None

    return wait_for(agree, 30, f"every worker to answer {path} alike", every=0.5)


def test_fleet_and_stores_agree_across_workers(pair, tmp_path):  # noqa: F811
    data = generate(tmp_path / "data", 120, 8, 35)
    replay(pair[0].env, data)
    pair[0].snapshot_csv()  # returns once every worker applied everything the replay sent
    health = wait_for(lambda: _watermarks_agree(pair), 30, "watermarks to agree", every=0.5)
    fleet = _same_everywhere(pair, "/fleet?limit=200")
    assert fleet["stores"] == 120 and fleet["watermark"] == health
    hourly = _same_everywhere(pair, "/fleet/hourly?hours=48")
    assert hourly["watermark_us"] == fleet["watermark_us"] and len(hourly["up_s"]) == 48
    for row in fleet["worst"][:10]:
        doc = _same_everywhere(pair, f"/stores/{row['store_id']}")
        assert doc["watermark"] == fleet["watermark"]


def _watermarks_agree(handles) -> str | None:
    marks = {h.health()["watermark"] for h in handles}
    return marks.pop() if len(marks) == 1 else None


def test_live_streams_the_same_outage_from_every_worker(pair, tmp_path):  # noqa: F811
    data = generate(tmp_path / "data", 60, 8, 36)
    replay(pair[0].env, data)
    pair[0].snapshot_csv()
    wait_for(lambda: _watermarks_agree(pair), 30, "watermarks to agree", every=0.5)
    readers = [SseReader(h.base_url) for h in pair]
    try:
        store_id, now = open_active_store(pair[1].base_url)
        produce_polls(pair[0].env, [(store_id, [(now + 1_000_000, False)])])
        events = [r.wait_for(lambda e: e["store_id"] == store_id) for r in readers]
    finally:
        for reader in readers:
            reader.close()
    assert events[0] == events[1] and events[0]["kind"] == "down"
