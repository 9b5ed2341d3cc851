"""Shared pieces of the benchmark: /proc readers, machine facts, the README section splice,
the replay summary, a worker's counters and RocksDB table sizes (pure helpers are
unit-tested).

The worker process, `streamproc` commands, HTTP calls and percentiles come from
:mod:`streamproc.sandbox`, the same code the tests use: the bench's worker is isolated exactly
like theirs (own app id / consumer group, topics, state directory and web port).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import re
import subprocess
import threading
import time
from pathlib import Path

from streamproc.sandbox import WorkerProcess, cli

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


# ------------------------------------------------------------------ pure helpers


def replace_section(text: str, heading: str, body: str) -> str:
    """``text`` with the section starting at the line ``heading`` (e.g. ``## Performance``)
    up to the next heading of any level (or the end) replaced by ``heading`` + ``body``. The
    section is appended when missing. Subsections (``###``) written by hand after the table
    are kept: ``--update-readme`` once deleted the README's analysis of the ingest figures."""
    lines = text.splitlines(keepends=True)
    new = [heading.rstrip() + "\n", "\n", body.strip("\n") + "\n"]
    start = next((i for i, line in enumerate(lines) if line.rstrip() == heading.rstrip()), None)
    if start is None:
        sep = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        return text + sep + "".join(new)
    end = next((j for j in range(start + 1, len(lines)) if lines[j].startswith("#")),
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


def polls_applied(worker: WorkerProcess) -> int:
    """The worker's ``polls_applied`` counter (0 while it does not answer)."""
    return (worker.try_health() or {}).get("polls_applied") or 0


# ------------------------------------------------------------------ commands


def timed_cli(env: dict[str, str], *args: str, timeout: float = 900.0) -> tuple[float, str]:
    """Run a ``streamproc`` subcommand; (wall seconds, stdout). Raises on failure."""
    started = time.monotonic()
    proc = cli.run_cli(env, *args, timeout=timeout)
    return time.monotonic() - started, proc.stdout


def cli_peak(env: dict[str, str], *args: str, timeout: float = 1800.0) -> tuple[float, int, str]:
    """Run a ``streamproc`` subcommand; (wall seconds, its peak RSS in bytes, output). Raises
    on failure or after ``timeout``.

    The peak is the child's ``VmHWM``, read every 20 ms while it runs. Not its ``ru_maxrss``:
    Linux carries the high-water mark of the memory a process had before ``exec`` into it,
    and subprocess starts the child from this process (vfork), so ``ru_maxrss`` said "979
    MiB" for a batch command of 5,000 stores that peaked at ~60 MiB, the bench's own size."""
    started = time.monotonic()
    with subprocess.Popen(cli.command(*args), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True) as proc:
        timer = threading.Timer(timeout, proc.kill)
        peak = [0]
        watcher = threading.Thread(target=_watch_hwm, args=(proc, peak), daemon=True)
        timer.start()
        watcher.start()
        try:
            out = proc.stdout.read()  # type: ignore[union-attr]
            proc.wait()
        finally:
            timer.cancel()
            watcher.join()
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        raise cli.CliFailed(f"streamproc {' '.join(args)} exited {proc.returncode}\n{out}")
    return seconds, peak[0] * 1024, out


def _watch_hwm(proc: subprocess.Popen, peak: list[int]) -> None:
    """The largest ``VmHWM`` (KiB) of ``proc`` into ``peak[0]`` until it exits."""
    while proc.poll() is None:
        with contextlib.suppress(OSError):  # reaped between the poll and the read
            peak[0] = max(peak[0], proc_status_kib(proc.pid, "VmHWM"))
        time.sleep(0.02)


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


def delete_topics(bootstrap: str, doomed) -> None:
    """Delete the broker's topics for which ``doomed(name)`` is true (best effort: the bench
    cleans up after itself, and a failure here must not hide its figures)."""

    async def go() -> None:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            names = [n for n in await admin.list_topics() if doomed(n)]
            if names:
                await admin.delete_topics(names)
        finally:
            await admin.close()

    with contextlib.suppress(Exception):
        asyncio.run(go())
