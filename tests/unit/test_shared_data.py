"""Realism check on the real data set beside the checkout (skipped when it is absent).

The batch report over the synthesized real week must agree with the slow, independent
oracle (tests/support/oracle.py) on a random sample of stores, within 0.01 of the report unit.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from streamproc import csvfiles
from streamproc.core.records import US_PER_HOUR, US_PER_MINUTE, Rejection
from streamproc.core.report_rows import compute_report
from tests.support import oracle

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
UNITS = (US_PER_MINUTE, US_PER_HOUR, US_PER_HOUR) * 2


def _accepted(items):
    return [item for item in items if not isinstance(item, Rejection)]


@pytest.mark.skipif(not (DATA / "store_status_week.csv.gz").exists(), reason="no ../shared/data")
def test_real_week_matches_the_oracle_on_sampled_stores():
    polls = _accepted(csvfiles.iter_polls(DATA / "store_status_week.csv.gz"))
    hours = _accepted(csvfiles.iter_hours(DATA / "menu_hours.csv"))
    zones = _accepted(csvfiles.iter_timezones(DATA / "timezones.csv"))
    rows = {r.store_id: r for r in compute_report(polls, hours, zones)}
    now = max(p[1] for p in polls)
    sample = set(random.Random(7).sample(sorted({p[0] for p in polls}), 40))
    expected = oracle.compute_report(
        [p for p in polls if p[0] in sample],
        [h for h in hours if h[0] in sample],
        [z for z in zones if z[0] in sample],
        as_of=now,
    )
    assert len(expected) == 40
    for row in expected:
        for k, unit in enumerate(UNITS, start=1):
            assert abs(float(row[k]) - rows[row[0]][k]) / unit < 0.01, (row[0], k)
    assert any(rows[row[0]][3] > 0 for row in expected)  # not a vacuous all-zero sample
