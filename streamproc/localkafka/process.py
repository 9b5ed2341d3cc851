"""Processes on this machine, whatever they run: finding Java, running a set-up command,
starting one in the background, telling whether a pid is alive, stopping it, checking a
port, and a lock so that concurrent ``streamproc broker`` commands do not race."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from streamproc.config import Settings
from streamproc.localkafka.errors import BrokerError

DEFAULT_STOP_TIMEOUT = 30.0

# The Popen objects of the processes this interpreter started, kept so that they are not
# reported as leaked while the process still runs.
_children: dict[int, subprocess.Popen[bytes]] = {}


def find_java() -> str:
    """``$JAVA_HOME/bin/java`` if it is there, else ``java`` on the PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.access(Path(java_home) / "bin" / "java", os.X_OK):
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise BrokerError(
            "Java is not installed (need Java 17+ for Kafka 4; apt-get install openjdk-17-jre)"
        )
    return java


def tail_text(lines: list[str], n: int) -> str:
    """The last ``n`` non-blank lines, indented under a message (empty if there are none)."""
    tail = [line for line in lines if line.strip()][-n:]
    return ("\n" + "\n".join("    " + line for line in tail)) if tail else ""


def run_checked(command: list[str], failure: str) -> None:
    """Run a set-up command; on failure raise BrokerError with the tail of its output."""
    proc = subprocess.run(
        command, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        tail = tail_text((proc.stdout + proc.stderr).splitlines(), 15)
        raise BrokerError(f"{failure} (exit {proc.returncode}){tail}")


def spawn(command: list[str], log: Path, cwd: Path, banner: str) -> int:
    """Start ``command`` in a session of its own, so that it outlives the CLI and its
    terminal's Ctrl-C, its output appended to ``log`` after ``banner``; its pid."""
    with open(log, "ab") as out:
        out.write(banner.encode())
        out.flush()
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
        )
    _children[proc.pid] = proc
    return proc.pid


def read_pid_file(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _reap(pid: int) -> None:
    """Collect the exit status if we are the parent (avoids zombies in long test runs)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie does not: it has exited, only its status is left)."""
    _reap(pid)
    stat = Path(f"/proc/{pid}/stat")
    if stat.parent.exists():
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def terminate(pid: int, timeout: float) -> bool:
    """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL. True if it needed SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            _children.pop(pid, None)
            return False
        time.sleep(0.1)
    return kill_and_wait(pid)


def kill_and_wait(pid: int) -> bool:
    """SIGKILL and wait until it is gone. True if it was alive."""
    was_alive = alive(pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    while alive(pid):
        time.sleep(0.05)
    _children.pop(pid, None)
    return was_alive


def port_in_use(host: str, port: int) -> bool:
    """True if something already listens on host:port (checked the way Kafka binds)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


@contextlib.contextmanager
def state_lock(settings: Settings, name: str = "broker") -> Iterator[None]:
    """A cross-process lock in the state dir so concurrent start/stop calls do not race."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.state_dir / f".{name}.lock", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def free_cluster_port(brokers: int = 3, host: str = "127.0.0.1") -> int:
    """A client port p such that the cluster's client ports p, p+2, ... and controller ports
    p+1, p+3, ... (``2 * brokers`` in all) are free; below Linux's ephemeral range, so no
    outgoing connection takes one meanwhile."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 32000, 2)
        if not any(port_in_use(host, base + i) for i in range(2 * brokers)):
            return base
    raise RuntimeError(f"no {2 * brokers} free consecutive ports on {host}")
