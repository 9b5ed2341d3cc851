"""The seeded chaos soak (`streamproc soak`, streamproc/soak/) for three minutes, seed 23.

A private 3-node cluster and 3 workers; the polls of a generated week replayed live while,
on the seed's schedule, workers are killed (-9), stopped (SIGTERM) and started (again with
their state, or new), a broker node is killed and restarted, bursts of public events go to
the events topic and to ``POST /events``, and a report is triggered every few seconds.
Every report must end Complete and equal to the batch report at its watermark (or Failed
with the stated bound), and at the end the stream's report must equal the batch report byte
for byte, observation counts included. Seed 23 draws every kind of fault within the three
minutes (checked below, so a change of the schedule's rules cannot quietly weaken the test).
"""

from __future__ import annotations

import pytest

from streamproc import config
from streamproc.soak.brokers import shared_jars
from streamproc.soak.log import Log
from streamproc.soak.run import SoakConfig, run_soak
from streamproc.soak.schedule import BURST, FAULTS, TRIGGER
from streamproc.soak.table import render

SEED, MINUTES = 23, 3.0


@pytest.mark.timeout(1200)  # ~5 min when it passes; a failing run may wait out its bounds
def test_seeded_soak_loses_nothing_and_reports_right(tmp_path, say):
    cfg = SoakConfig(SEED, MINUTES, tmp_path / "soak", shared_jars(config.load()))
    log = Log(cfg.run_dir / "soak.log")
    try:
        result = run_soak(cfg, log)
    finally:
        log.close()
    table = render(result)
    for line in table.splitlines():
        say(line)
    assert result.ok, table
    done = result.tally.done
    assert all(done[kind] >= 1 for kind in FAULTS), done
    assert all(done[k] == result.schedule.count(k) for k in (*FAULTS, BURST)), done
    finished = [t for t in result.reports if t.status != "Running"]
    assert len(finished) >= 0.9 * result.schedule.count(TRIGGER), len(finished)
    assert result.complete(pinned=True) >= 10 and result.complete(pinned=False) >= 10
    assert result.polls_sent == result.polls
