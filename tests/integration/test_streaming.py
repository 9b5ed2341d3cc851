"""The streaming pipeline end to end on the real broker: its report equals the batch command's.

Each test replays a generated data set (overnight and split hours, several zones, a DST change,
duplicates, bad rows) through `streamproc replay` into an isolated worker and compares the
worker's snapshot with `streamproc report` on the same files, byte for byte.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from streamproc.sandbox import run_cli
from tests.support.data import batch_report, generate
from tests.support.kafka import dead_letters

BAD_ROWS = 12


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("data"), 250, 8, 11, "--dst", "--bad-rows",
                    str(BAD_ROWS))


def replay(env, polls: Path | None = None, hours: Path | None = None, tz: Path | None = None):
    args = ["replay"]
    for flag, path in (("--polls", polls), ("--hours", hours), ("--timezones", tz)):
        if path is not None:
            args += [flag, str(path)]
    return run_cli(env, *args)


def test_snapshot_equals_batch_report(worker, dataset, tmp_path):
    replay(worker.env, dataset / "store_status.csv", dataset / "menu_hours.csv",
           dataset / "timezones.csv")
    assert worker.snapshot_csv() == batch_report(dataset, tmp_path / "batch.csv")


def test_shuffled_polls_with_hours_and_zones_after_them(worker, dataset, tmp_path):
    lines = (dataset / "store_status.csv").read_text().splitlines()
    body = lines[1:]
    random.Random(3).shuffle(body)
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text("\n".join([lines[0], *body]) + "\n")
    replay(worker.env, polls=shuffled)
    replay(worker.env, hours=dataset / "menu_hours.csv", tz=dataset / "timezones.csv")
    assert worker.snapshot_csv() == batch_report(dataset, tmp_path / "batch.csv")


def test_replaying_twice_gives_the_same_report(worker, dataset, tmp_path):
    files = (dataset / "store_status.csv", dataset / "menu_hours.csv", dataset / "timezones.csv")
    replay(worker.env, *files)
    first = worker.snapshot_csv()
    replay(worker.env, *files)
    assert worker.snapshot_csv() == first == batch_report(dataset, tmp_path / "batch.csv")


def test_dead_letter_topic_holds_exactly_the_bad_rows(worker, dataset):
    replay(worker.env, dataset / "store_status.csv", dataset / "menu_hours.csv",
           dataset / "timezones.csv")
    dead = dead_letters(worker.env)
    assert len(dead) == BAD_ROWS
    assert all(r["reason"] and r["line"] > 1 for r in dead)
    assert {r["source"] for r in dead} <= {"polls", "hours", "timezones"}
