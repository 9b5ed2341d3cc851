"""`streamproc bench`: the scale and minute-poll steps (issue 24) at tiny sizes against the
real broker; their pure pieces are in tests/unit/bench/test_growth.py.

No timing assertions: only that both steps ran and printed their figures beside their
baselines from the same run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)
def test_bench_growth_steps_print_their_figures(kafka_broker: str, tmp_path: Path) -> None:
    out = tmp_path / "results.md"
    proc = subprocess.run(
        [sys.executable, "-m", "streamproc", "bench", "--quick", "--stores", "50",
         "--skip", "reference,reports,weeks,live,recovery,fleet",
         "--scale-stores", "20", "--minute-stores", "5", "--minute-days", "1",
         "--out", str(out)],
        capture_output=True, text=True, timeout=280, cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    table = out.read_text()
    assert "scale: end to end at 10x stores (200;" in table
    assert "| 20 stores: " in table  # the 1x baseline of the same run
    assert "scale: worker peak RSS (VmHWM) at 10x stores" in table
    assert "scale: `streamproc report` peak RSS at 10x stores (200)" in table
    assert "minute polls: changelog bytes per live poll (5 stores" in table
    assert " B per poll (15 live polls;" in table  # 5 stores x 3 live minutes
    assert "stopped early" not in table
