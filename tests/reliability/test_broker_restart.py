"""Broker restart during a replay, on a broker of the test's own (never the shared one).

``streamproc broker stop`` then ``start`` while a paced replay runs and a worker consumes.
The producer retries (idempotent, acks=all) and may carry on; if it gives up during the
outage it exits with an error, and running the replay again once the broker is back is the
at-least-once recovery (duplicates change nothing). The worker must reconnect by itself and
the final report must equal the batch command's.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from streamproc import config
from streamproc.kafka import broker
from tests.fixtures_worker import WorkerHandle, free_port, isolated_env, run_cli
from tests.reliability.support import (
    Background,
    PrivateBroker,
    first_diff,
    health,
    replay_args,
    snapshot,
    wait_for,
)

pytestmark = pytest.mark.reliability

OUTAGE_S = 8.0


@pytest.fixture
def private_broker(tmp_path: Path):
    shared_jars = broker.ensure_jars(config.load(), quiet=True)
    state = tmp_path / "broker-state"
    state.mkdir()
    (state / "jars").symlink_to(shared_jars, target_is_directory=True)
    env = dict(os.environ)
    env.update(STREAMPROC_STATE_DIR=str(state),
               STREAMPROC_BROKER=f"kafka://127.0.0.1:{free_port()}",
               STREAMPROC_CONTROLLER_PORT=str(free_port()))
    b = PrivateBroker(env)
    b.run("start")
    try:
        yield b
    finally:
        run_cli(env, "broker", "stop", timeout=120)


@pytest.mark.timeout(240)
def test_broker_restart_during_replay(private_broker, dataset, expected, tmp_path, say):
    env = isolated_env(private_broker.bootstrap, tmp_path / "state")
    handle = WorkerHandle(env, tmp_path / "worker.log")
    handle.start()
    replay = Background(env, replay_args(dataset, None, "--speed", "21600"),
                        tmp_path / "replay.log")
    try:
        time.sleep(6)
        before = health(handle)["polls_applied"]
        stopped = private_broker.run("stop")
        down_at = time.monotonic()
        during = []
        while time.monotonic() - down_at < OUTAGE_S:
            during.append(health(handle)["status"])  # the worker keeps answering
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
            proc = run_cli(env, *replay_args(dataset, None, "--chunk-rows", "5000"))
            say(f"replayed again after the broker came back (at-least-once) in "
                f"{time.monotonic() - again:.1f}s: {proc.stdout.strip()}")
        wait_for(lambda: health(handle)["assigned_partitions"], 120, "worker reassigned")
        report = snapshot(handle, timeout=180)
        say(f"worker reconnected by itself; report {time.monotonic() - back_at:.1f}s after the "
            f"broker was back; equals batch: {report == expected}; worker alive: "
            f"{handle.process is not None and handle.process.poll() is None}")
        assert handle.process is not None and handle.process.poll() is None
        assert report == expected, first_diff(report, expected)
    finally:
        replay.stop()
        handle.kill(signal.SIGTERM)
