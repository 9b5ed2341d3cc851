"""`streamproc bench`: a tiny `--quick` run against the real broker (its pure pieces are in
tests/unit/bench/test_bench_pieces.py).

No timing assertions: the figures depend on the machine; only that the bench runs and writes
a well-formed table.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(240)
def test_bench_quick_runs(kafka_broker: str, tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    proc = subprocess.run(
        [sys.executable, "-m", "streamproc", "bench", "--quick", "--stores", "150",
         # fleet: a 24 s replay, twice; scale, minute: tests/integration/test_bench_growth.py
         "--skip", "recovery,fleet,scale,minute", "--out", str(out)],
        capture_output=True, text=True, timeout=220, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    table = out.read_text()
    for figure in ("reference data", "end to end", "pure core", "trigger → Complete",
                   "`get_report`", "poll → `/stores/{id}`", "after 1 / 4 weeks"):
        assert figure in table, figure
    assert "| figure | value | target | baseline | verdict |" in table
    assert "load average" in table
    assert "stopped early" not in table
