"""Broker restart during a replay, on a broker of the test's own (never the shared one).

``streamproc broker stop`` then ``start`` while a paced replay runs and a worker consumes.
The producer retries (idempotent, acks=all) and may carry on; if it gives up during the
outage it exits with an error, and running the replay again once the broker is back is the
at-least-once recovery (duplicates change nothing). The worker must reconnect by itself and
the final report must equal the batch command's.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from streamproc.sandbox import run_cli, wait_for
from tests.support.broker_fixture import PrivateBroker, private_broker_settings
from tests.support.data import replay_args
from tests.support.reliability import Background, first_diff, snapshot
from tests.support.worker_fixture import isolated_worker

OUTAGE_S = 8.0


@pytest.fixture
def private_broker(tmp_path: Path):
    env = dict(os.environ, **private_broker_settings(tmp_path / "broker-state"))
    b = PrivateBroker(env)
    b.run("start")
    try:
        yield b
    finally:
        run_cli(env, "broker", "stop", timeout=120)


@pytest.mark.timeout(240)
def test_broker_restart_during_replay(private_broker, dataset, expected, tmp_path, say):
    with isolated_worker(private_broker.bootstrap, tmp_path) as handle:
        replay = Background(handle.env, replay_args(dataset, None, "--speed", "21600"),
                            tmp_path / "replay.log")
        try:
            time.sleep(6)
            before = handle.health()["polls_applied"]
            stopped = private_broker.run("stop")
            down_at = time.monotonic()
            during = []
            while time.monotonic() - down_at < OUTAGE_S:
                during.append(handle.health()["status"])  # the worker keeps answering
                time.sleep(1)
            up = private_broker.run("start")
            back_at = time.monotonic()
            say(f"broker stopped 6 s into the replay ({before} polls applied; stop took "
                f"{stopped:.1f}s), down {back_at - down_at - up:.1f}s, start took {up:.1f}s; "
                f"worker /health during the outage: {set(during)}")
            code = replay.wait(180)
            out = replay.output().strip().splitlines()
            say(f"replay exit {code}: {out[-1] if out else ''}")
            if code != 0:
                again = time.monotonic()
                proc = run_cli(handle.env, *replay_args(dataset, None, "--chunk-rows", "5000"))
                say(f"replayed again after the broker came back (at-least-once) in "
                    f"{time.monotonic() - again:.1f}s: {proc.stdout.strip()}")
            wait_for(lambda: handle.health()["assigned_partitions"], 120, "worker reassigned")
            report = snapshot(handle, timeout=180)
            say(f"worker reconnected by itself; report {time.monotonic() - back_at:.1f}s after the "
                f"broker was back; equals batch: {report == expected}; worker alive: "
                f"{handle.process is not None and handle.process.poll() is None}")
            assert handle.process is not None and handle.process.poll() is None
            assert report == expected, first_diff(report, expected)
        finally:
            replay.stop()
