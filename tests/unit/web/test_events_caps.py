"""Finding 3 of issue 25: one ``POST /events`` body is bounded in lines and in rejections,
and its bad lines do not become one dead-letter message each (a poller token sending 4 MiB
of junk lines must not flood the dead-letter topic or hold the worker)."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

from aiohttp.test_utils import TestClient, TestServer

from streamproc.config import Settings
from streamproc.core.event_bodies import Batch, decode_body
from streamproc.web import events
from streamproc.web.http import PIPELINE
from streamproc.worker.event_intake import publish_batch
from tests.support import secure_app
from tests.support.secure_app import OP
from tests.support.stream import make_processor

SECRETS = {"session_secret": "s" * 32, "peer_secret": "p" * 32}
NDJSON = {"Content-Type": "application/x-ndjson", "Authorization": f"Bearer {OP}"}
GOOD = json.dumps({"type": "poll", "store_id": "s1", "status": "active",
                   "timestamp_utc": "2023-01-22 12:00:00"}).encode()


def _post(body: bytes) -> tuple[int, dict, list[Batch]]:
    published: list[Batch] = []

    async def publish(batch: Batch) -> int:
        published.append(batch)
        return len(batch.events)

    async def main() -> tuple[int, dict]:
        app = secure_app.app(Settings(api_token=OP, **SECRETS), {"/events/body": 4 << 20})
        app[PIPELINE] = SimpleNamespace(settings=Settings(), publish=publish)
        app.router.add_post("/events/body", events.post_events)
        async with TestClient(TestServer(app)) as client, client.post(
                "/events/body", data=body, headers=NDJSON) as resp:
            return resp.status, await resp.json()

    status, doc = asyncio.run(main())
    return status, doc, published


def test_too_many_lines_are_413() -> None:
    status, doc, published = _post(b"\n" * 100_001 + GOOD)
    assert status == 413 and "lines" in doc["error"] and not published


def test_a_body_of_mostly_junk_is_refused_whole() -> None:
    status, doc, published = _post(b"junk\n" * 1_001 + GOOD)
    assert status == 400 and "bad lines" in doc["error"] and not published


def test_a_few_bad_lines_are_still_counted_and_the_rest_kept() -> None:
    status, doc, published = _post(b"junk\n" * 3 + GOOD)
    assert status == 200 and doc["rejected"] == 3 and doc["accepted"] == 1


def test_bad_lines_beyond_a_few_become_one_dead_letter_summary() -> None:
    proc, _, dead = make_processor()
    batch = decode_body(b"junk\n" * 500 + GOOD, "application/x-ndjson")
    assert len(batch.rejections) == 500

    async def send(topic, partition, key, value):
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    asyncio.run(publish_batch(batch, proc, send, 4))
    assert 1 < len(dead) <= 6, len(dead)
    assert "495" in dead[-1].reason  # the summary says how many it stands for
    assert sum(proc.stats.rejected.values()) == 500  # every one still counted
