"""py-spy profiles of a worker for `streamproc bench --profile`: record, then the share of
samples per function (own and inclusive), written to ``bench/profile-*.txt`` beside the code
they describe."""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from bench import ROOT

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


@contextlib.contextmanager
def profiled(enabled: bool, tmp: Path, pid: int, name: str) -> Iterator[list[str]]:
    """With ``enabled``: py-spy on ``pid`` inside the block, the shares written to
    ``bench/profile-<name>.txt``. Yields the notes for the table, filled when the block
    ends."""
    notes: list[str] = []
    if not enabled:
        yield notes
        return
    raw = tmp / f"profile-{name}.raw"
    profiler = Profiler(pid, raw, rate=100)
    try:
        yield notes
    finally:
        err = profiler.stop()
        text = raw.read_text() if raw.is_file() else ""
        out = ROOT / "bench" / f"profile-{name}.txt"
        out.write_text(f"# py-spy record --nonblocking -r 100 of the worker: {name} step of "
                       f"`streamproc bench --profile`\n\n"
                       + (summarize_profile(text, 40) if text else f"no samples: {err[-300:]}"))
        notes.append(f"profile of the worker during the {name} step: "
                     f"`bench/profile-{name}.txt`")


def write_worker_profile(raw_path: Path, sent: int, seconds: float,
                         err: str) -> tuple[list[str], dict[str, float]]:
    """The end-to-end profile to :data:`PROFILE_OUT`: (notes for the table, inclusive shares
    in % of applying polls and of sending produce requests, for the end-to-end note)."""
    try:
        raw = raw_path.read_text()
    except OSError:
        return [f"profile: py-spy produced nothing ({err.strip()[-300:]})"], {}
    head = (f"# py-spy record --nonblocking -r 50 of the worker during the end-to-end run\n"
            f"# ({sent:,} polls, {seconds:.1f} s, {dt.datetime.now():%Y-%m-%d %H:%M})"
            f"\n# written by `streamproc bench --profile`\n\n")
    PROFILE_OUT.write_text(head + summarize_profile(raw))
    notes = [f"profile of the worker during the end-to-end run: "
             f"`{PROFILE_OUT.relative_to(ROOT)}`"]
    total, _own, incl = profile_counts(raw)

    def share(*needles: str) -> float:
        best = max((n for f, n in incl.items() if all(x in f for x in needles)), default=0)
        return 100 * best / total if total else 0.0

    return notes, {"apply_polls": share("Processor.apply_polls"),
                   "produce": share("SendProduceReqHandler.do")}
