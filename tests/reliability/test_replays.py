"""Replays repeated, overlapping and out of order give the identical report.

State is idempotent (a poll seen twice is one poll) and order-free, so a fresh worker fed
overlapping slices of the polls in reversed, shuffled and descending-time order, two of them
at the same time and with business hours and zones arriving after the polls, must report
exactly what the batch command reports; so must the same worker after the whole data set is
replayed twice more, concurrently.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from streamproc.sandbox import run_cli
from tests.support.data import SOURCES, replay_args
from tests.support.reliability import Background, first_diff, snapshot
from tests.support.worker_fixture import isolated_worker


def _write(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "".join(rows))
    return path


def _slices(data: Path, tmp: Path) -> list[Path]:
    lines = (data / SOURCES[0]).read_text().splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    n = len(body)
    a = body[: n * 6 // 10][::-1]  # first 60 %, reversed
    b = body[n * 4 // 10:]  # last 60 %, shuffled
    random.Random(5).shuffle(b)
    c = sorted(body[n * 2 // 10: n * 8 // 10],  # middle 60 %, newest first
               key=lambda line: line.rsplit(",", 1)[-1], reverse=True)
    return [_write(tmp / f"slice-{name}.csv", header, rows)
            for name, rows in (("a", a), ("b", b), ("c", c))]


@pytest.mark.timeout(180)
def test_overlapping_out_of_order_and_repeated_replays(kafka_broker, dataset, expected, tmp_path,
                                                       say):
    a, b, c = _slices(dataset, tmp_path)
    with isolated_worker(kafka_broker, tmp_path) as handle:
        env = handle.env
        # b and c at the same time (polls only), then hours and zones, then a
        jobs = [Background(env, ["replay", "--polls", str(p), "--chunk-rows", "1000"],
                           tmp_path / f"replay-{p.stem}.log") for p in (b, c)]
        for job in jobs:
            assert job.wait(120) == 0, job.output()
        run_cli(env, "replay", "--hours", str(dataset / SOURCES[1]),
                "--timezones", str(dataset / SOURCES[2]))
        run_cli(env, "replay", "--polls", str(a), "--chunk-rows", "777")
        first = snapshot(handle)
        polls = handle.health()["polls_applied"]
        say(f"slices 60% reversed / 60% shuffled / 60% newest-first (1.8x the polls, two "
            f"replays concurrent, hours and zones after the polls): {polls} polls applied; "
            f"report equals batch: {first == expected}")
        assert first == expected, first_diff(first, expected)

        full = replay_args(dataset)
        jobs = [Background(env, [*full, "--chunk-rows", rows], tmp_path / f"full-{rows}.log")
                for rows in ("3000", "50000")]
        for job in jobs:
            assert job.wait(120) == 0, job.output()
        again = snapshot(handle)
        say(f"whole data set replayed twice more, concurrently: "
            f"{handle.health()['polls_applied']} polls applied in all; report identical: "
            f"{again == first}")
        assert again == first
