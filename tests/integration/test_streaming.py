"""The streaming pipeline end to end on the real broker: its report equals the batch command's.

Each test replays a generated data set (overnight and split hours, several zones, a DST change,
duplicates, bad rows) through `streamproc replay` into an isolated worker and compares the
worker's snapshot with `streamproc report` on the same files, byte for byte.
"""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer

from tests.fixtures_worker import run_cli

BAD_ROWS = 12


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data")
    run_cli(dict(os.environ), "generate", "--stores", "250", "--days", "8",
            "--seed", "11", "--dst", "--bad-rows", str(BAD_ROWS), "--out", str(out))
    return out


def batch_report(data: Path, tmp: Path, polls: Path | None = None) -> str:
    out = tmp / "batch.csv"
    run_cli(dict(os.environ), "report",
            "--polls", str(polls or data / "store_status.csv"),
            "--hours", str(data / "menu_hours.csv"),
            "--timezones", str(data / "timezones.csv"), "--out", str(out))
    return out.read_text()


def replay(env, polls: Path | None = None, hours: Path | None = None, tz: Path | None = None):
    args = ["replay"]
    for flag, path in (("--polls", polls), ("--hours", hours), ("--timezones", tz)):
        if path is not None:
            args += [flag, str(path)]
    return run_cli(env, *args)


def test_snapshot_equals_batch_report(worker, dataset, tmp_path):
    replay(worker.env, dataset / "store_status.csv", dataset / "menu_hours.csv",
           dataset / "timezones.csv")
    assert worker.snapshot_csv() == batch_report(dataset, tmp_path)


def test_shuffled_polls_with_hours_and_zones_after_them(worker, dataset, tmp_path):
    lines = (dataset / "store_status.csv").read_text().splitlines()
    body = lines[1:]
    random.Random(3).shuffle(body)
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text("\n".join([lines[0], *body]) + "\n")
    replay(worker.env, polls=shuffled)
    replay(worker.env, hours=dataset / "menu_hours.csv", tz=dataset / "timezones.csv")
    assert worker.snapshot_csv() == batch_report(dataset, tmp_path)


def test_replaying_twice_gives_the_same_report(worker, dataset, tmp_path):
    files = (dataset / "store_status.csv", dataset / "menu_hours.csv", dataset / "timezones.csv")
    replay(worker.env, *files)
    first = worker.snapshot_csv()
    replay(worker.env, *files)
    assert worker.snapshot_csv() == first == batch_report(dataset, tmp_path)


async def _drain(bootstrap: str, topic: str, expected: int, timeout: float = 30.0) -> list[dict]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    records: list[dict] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for msgs in batch.values():
                records += [orjson.loads(m.value) for m in msgs]
            if len(records) >= expected and not batch:
                break
    finally:
        await consumer.stop()
    return records


def test_dead_letter_topic_holds_exactly_the_bad_rows(worker, dataset, kafka_broker):
    replay(worker.env, dataset / "store_status.csv", dataset / "menu_hours.csv",
           dataset / "timezones.csv")
    dead = asyncio.run(_drain(kafka_broker, worker.env["STREAMPROC_TOPIC_DEADLETTER"], BAD_ROWS))
    assert len(dead) == BAD_ROWS
    assert all(r["reason"] and r["line"] > 1 for r in dead)
    assert {r["source"] for r in dead} <= {"polls", "hours", "timezones"}
