"""py-spy profiles of a worker for `streamproc bench --profile`: record, then the share of
samples per function (own and inclusive)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROFILE_OUT = ROOT / "bench" / "profile-worker.txt"


class Profiler:
    """py-spy record of one pid (non-blocking sampling) in raw collapsed-stack form."""

    def __init__(self, pid: int, raw_path: Path, rate: int = 50) -> None:
        self.raw_path = raw_path
        exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        self.proc = subprocess.Popen(
            [exe, "record", "--nonblocking", "-r", str(rate), "-f", "raw",
             "-o", str(raw_path), "-p", str(pid)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return (err or b"").decode(errors="replace")


def _frame_name(frame: str) -> str:
    """``func (path/to/file.py:123)`` -> ``func (file.py)``: lines merged per function."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    file = where.rsplit(":", 1)[0]
    parts = file.split("/")
    short = "/".join(parts[-2:]) if len(parts) > 1 else file
    return f"{name} ({short})"


def profile_counts(raw: str) -> tuple[int, Counter, Counter]:
    """(samples, own, inclusive) sample counts per function from py-spy's raw output."""
    own: Counter = Counter()
    incl: Counter = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_frame_name(f) for f in stack.split(";") if f and not f.startswith("process ")
                  and not f.startswith("thread ")]
        if not frames:
            continue
        total += n
        own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    return total, own, incl


def summarize_profile(raw: str, top: int = 25) -> str:
    """Self and inclusive sample shares per function from py-spy's raw (collapsed) output."""
    total, own, incl = profile_counts(raw)
    if not total:
        return "no samples\n"
    lines = [f"samples: {total:,}", "", f"top {top} by own time (% of samples):"]
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    lines += ["", f"top {top} by inclusive time (% of samples):"]
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in incl.most_common(top)]
    return "\n".join(lines) + "\n"
