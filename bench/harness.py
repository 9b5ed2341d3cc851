"""Shared pieces of the benchmark: an isolated worker process, /proc readers, percentiles,
machine facts and the README section splice (pure helpers are unit-tested).

The worker is isolated exactly like the integration tests' worker (tests/fixtures_worker.py):
its own app id / consumer group, topics, state directory and web port, all passed as
``STREAMPROC_*`` environment variables to ``python -m streamproc worker``.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from streamproc.sandbox import log_tail, stop_group

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# ------------------------------------------------------------------ pure helpers


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile on the sorted values (q in 0..1), the same rule as
    bench/api.py and bench/live.py; NaN when there are no values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


def replace_section(text: str, heading: str, body: str) -> str:
    """``text`` with the section starting at the line ``heading`` (e.g. ``## Performance``)
    up to the next ``## `` heading (or the end) replaced by ``heading`` + ``body``. The section
    is appended when missing. Deeper headings (``###``) inside the section are replaced too."""
    lines = text.splitlines(keepends=True)
    new = [heading.rstrip() + "\n", "\n", body.strip("\n") + "\n"]
    start = next((i for i, line in enumerate(lines) if line.rstrip() == heading.rstrip()), None)
    if start is None:
        sep = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        return text + sep + "".join(new)
    end = next((j for j in range(start + 1, len(lines)) if lines[j].startswith("## ")),
               len(lines))
    tail = lines[end:]
    if tail:
        new.append("\n")
    return "".join(lines[:start] + new + tail)


# ------------------------------------------------------------------ /proc


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (its own threads; not its children)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status_kib(pid: int, key: str) -> int:
    """A ``kB`` line of /proc/<pid>/status (VmRSS, VmHWM), in KiB; 0 when absent."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def du_bytes(path: Path) -> int:
    """Allocated size of a directory tree (like ``du -s``), in bytes."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def machine() -> dict[str, str]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return {
        "nproc": str(os.cpu_count()),
        "ram": ram,
        "cpu": cpu,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def git_commit(repo: Path) -> str:
    try:
        out = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


# ------------------------------------------------------------------ the worker process


@dataclass
class Worker:
    """One ``python -m streamproc worker`` with an isolated environment."""

    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None
    starts: list[float] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.env['STREAMPROC_WEB_PORT']}"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def state_dir(self) -> Path:
        return Path(self.env["STREAMPROC_STATE_DIR"])

    def spawn(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streamproc", "worker"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self.starts.append(time.monotonic())

    def get_json(self, path: str, timeout: float = 10.0) -> dict:
        with urllib.request.urlopen(self.base_url + path, timeout=timeout) as resp:
            return json.loads(resp.read())

    def post_json(self, path: str, body: dict, timeout: float = 60.0) -> dict:
        req = urllib.request.Request(self.base_url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"},
                                     method="POST")
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read())

    def health(self) -> dict | None:
        try:
            return self.get_json("/health", timeout=5)
        except (OSError, ValueError):
            return None

    def wait_ready(self, timeout: float = 120.0) -> dict:
        """Until /health says partitions assigned and tables recovered."""
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}:\n"
                                   f"{self.tail()}")
            health = self.health()
            if health and health.get("assigned_partitions") and not health.get("recovering"):
                return health
            last = health
            time.sleep(0.1)
        raise RuntimeError(f"worker not ready after {timeout:.0f}s ({last}):\n{self.tail()}")

    def wait_applied(self, total: int, timeout: float, poll_s: float = 0.1) -> float:
        """Until /health ``polls_applied`` >= total; returns the monotonic time seen."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            health = self.health()
            if health is not None:
                last = health.get("polls_applied")
                if last is not None and last >= total:
                    return time.monotonic()
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"worker died:\n{self.tail()}")
            time.sleep(poll_s)
        raise RuntimeError(f"polls_applied {last} < {total} after {timeout:.0f}s")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None:
            stop_group(self.process, sig, grace=30)
        self.process = None

    def tail(self, n: int = 30) -> str:
        return log_tail(self.log_path, n)


def run_cli(env: dict[str, str], *args: str, timeout: float = 900.0) -> tuple[float, str]:
    """Run a ``streamproc`` subcommand; (wall seconds, stdout). Raises on failure."""
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "streamproc", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(f"streamproc {' '.join(args)} exited {proc.returncode}\n"
                           f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed, proc.stdout


REPLAY_LINE = re.compile(r"replay: ([\d,]+) polls sent.*?; ([\d.]+) s; ([\d,]+) polls/s")


def parse_replay_summary(stdout: str) -> tuple[int, float]:
    """(polls sent, seconds) from the replay's summary line."""
    m = REPLAY_LINE.search(stdout)
    if not m:
        raise ValueError(f"no replay summary in {stdout[-500:]!r}")
    return int(m.group(1).replace(",", "")), float(m.group(2))


def table_bytes(worker_dir: Path, table: str = "store-state") -> tuple[int, int]:
    """(keys, key + value bytes) of the live entries of a Faust RocksDB table, read through a
    read-only handle (the WAL is replayed, nothing is written; safe while the worker runs).
    Unlike the size on disk, this does not count the write-ahead log and not yet compacted
    old versions, so it is the state the worker actually keeps."""
    from rocksdict import AccessType, Options, Rdict

    keys = size = 0
    for db in sorted(worker_dir.glob(f"v*/tables/{table}-*.db")):
        handle = Rdict(str(db), options=Options(raw_mode=True),
                       access_type=AccessType.read_only())
        try:
            for k, v in handle.items():
                if k.startswith(b"__faust"):
                    continue
                keys += 1
                size += len(k) + len(v)
        finally:
            handle.close()
    return keys, size
