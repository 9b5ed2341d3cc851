"""`streamproc broker start|stop|status`: a real single-node Apache Kafka broker on this machine.

The broker is Apache Kafka 4.1 in KRaft mode (broker and controller in one JVM), bound to
127.0.0.1 only. Its jars are resolved once from Maven Central with ``mvn`` using
``broker/pom.xml`` and cached in ``Settings.jars_dir``; its configuration, data, logs and pid
file live in ``Settings.broker_dir``::

    .streamproc/jars/                 Kafka jars (+ .complete marker holding the pom hash)
    .streamproc/kafka/server.properties
    .streamproc/kafka/cluster.id      generated once, used to format the storage
    .streamproc/kafka/data/           log.dirs (topics and the KRaft metadata log)
    .streamproc/kafka/logs/           server.log (log4j2, WARN) and stdout.log (JVM output)
    .streamproc/kafka/broker.pid

Python API (used by tests and other commands): :func:`ensure_jars`, :func:`start`,
:func:`stop`, :func:`status`, :func:`is_running`, :func:`wait_until_ready`; all failures
raise :class:`BrokerError` with a one-line message.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from streamproc import config
from streamproc.config import Settings

KAFKA_MAIN = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
DEFAULT_HEAP = "-Xmx512m -Xms256m"
DEFAULT_START_TIMEOUT = 120.0
DEFAULT_STOP_TIMEOUT = 30.0
_LOOPBACK = {"127.0.0.1", "localhost"}


class BrokerError(Exception):
    """A failure with a one-line, user-facing message (the CLI prints it, no traceback)."""


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    bootstrap: str
    ready: bool
    broker_dir: Path
    data_dir: Path
    log_file: Path

    def describe(self) -> str:
        state = f"running (pid {self.pid})" if self.running else "stopped"
        if self.running and not self.ready:
            state += ", not answering yet"
        return "\n".join(
            [
                f"broker:    {state}",
                f"bootstrap: {self.bootstrap}",
                f"data dir:  {self.data_dir}",
                f"log file:  {self.log_file}",
            ]
        )


# --------------------------------------------------------------------------- paths


def broker_source_dir() -> Path:
    """``broker/`` of the checkout: pom.xml and the log4j2 configuration."""
    return config._project_root() / "broker"


def pom_path() -> Path:
    return broker_source_dir() / "pom.xml"


def log4j_path() -> Path:
    return broker_source_dir() / "log4j2.properties"


def pid_file(settings: Settings) -> Path:
    return settings.broker_dir / "broker.pid"


def data_dir(settings: Settings) -> Path:
    return settings.broker_dir / "data"


def logs_dir(settings: Settings) -> Path:
    return settings.broker_dir / "logs"


def properties_file(settings: Settings) -> Path:
    return settings.broker_dir / "server.properties"


def stdout_log(settings: Settings) -> Path:
    return logs_dir(settings) / "stdout.log"


def server_log(settings: Settings) -> Path:
    return logs_dir(settings) / "server.log"


# --------------------------------------------------------------------------- pure helpers


def listen_host(settings: Settings) -> str:
    """The address to bind: the broker URL's host, which must be the loopback interface."""
    host = settings.bootstrap.rsplit(":", 1)[0].strip("[]")
    if host not in _LOOPBACK:
        raise BrokerError(
            f"STREAMPROC_BROKER={settings.broker_url} is not local; the managed broker only "
            "runs on 127.0.0.1 (use kafka://127.0.0.1:<port>)"
        )
    return "127.0.0.1"


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (22 chars)."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")


def server_properties(settings: Settings) -> dict[str, str]:
    """The broker configuration: one KRaft node, loopback only, tuned for fast tests."""
    host = listen_host(settings)
    bport, cport = settings.broker_port, settings.controller_port
    if bport == cport:
        raise BrokerError(f"broker and controller ports are both {bport}; they must differ")
    return {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{host}:{cport}",
        "listeners": f"PLAINTEXT://{host}:{bport},CONTROLLER://{host}:{cport}",
        "advertised.listeners": f"PLAINTEXT://{host}:{bport}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(data_dir(settings)),
        "num.partitions": str(settings.partitions),
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": str(settings.partitions),
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "auto.create.topics.enable": "true",
        "delete.topic.enable": "true",
        "group.initial.rebalance.delay.ms": "0",
        "num.network.threads": "2",
        "num.io.threads": "4",
        "num.recovery.threads.per.data.dir": "1",
    }


def render_properties(props: dict[str, str]) -> str:
    """Java .properties text (values here never need escaping beyond backslashes)."""
    lines = ["# Written by `streamproc broker start`; regenerated on every start."]
    lines += [f"{key}={value.replace(chr(92), chr(92) * 2)}" for key, value in props.items()]
    return "\n".join(lines) + "\n"


def classpath(settings: Settings) -> str:
    return str(settings.jars_dir / "*")


def jvm_options(settings: Settings) -> list[str]:
    heap = os.environ.get("KAFKA_HEAP_OPTS", DEFAULT_HEAP).split()
    return [
        *heap,
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:InitiatingHeapOccupancyPercent=35",
        "-XX:+ExplicitGCInvokesConcurrent",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j_path()}",
        f"-Dkafka.logs.dir={logs_dir(settings)}",
        # Marks the process as ours (checked against /proc/<pid>/cmdline).
        f"-Dstreamproc.broker.dir={settings.broker_dir}",
    ]


def java_command(settings: Settings, java: str = "java") -> list[str]:
    """The command line that runs the broker in the foreground."""
    return [
        java,
        *jvm_options(settings),
        "-cp",
        classpath(settings),
        KAFKA_MAIN,
        str(properties_file(settings)),
    ]


def format_command(settings: Settings, cluster_id: str, java: str = "java") -> list[str]:
    """``kafka-storage format`` for the configured log dir (static quorum: no --standalone)."""
    return [
        java,
        "-Xmx256m",
        f"-Dlog4j2.configurationFile={log4j_path()}",
        f"-Dkafka.logs.dir={logs_dir(settings)}",
        "-cp",
        classpath(settings),
        STORAGE_TOOL,
        "format",
        "--cluster-id",
        cluster_id,
        "--config",
        str(properties_file(settings)),
        "--ignore-formatted",
    ]


def maven_command(pom: Path, out_dir: Path, mvn: str = "mvn") -> list[str]:
    return [
        mvn,
        "-B",
        "-q",
        "-Dstyle.color=never",
        "-f",
        str(pom),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={out_dir}",
    ]


def pom_hash(pom: Path | None = None) -> str:
    return hashlib.sha256((pom or pom_path()).read_bytes()).hexdigest()


# --------------------------------------------------------------------------- jars


def jars_cached(settings: Settings) -> bool:
    marker = settings.jars_dir / ".complete"
    try:
        return marker.read_text().strip() == pom_hash()
    except OSError:
        return False



def _run_checked(command: list[str], failure: str) -> None:
    """Run a set-up command; on failure raise BrokerError with the tail of its output."""
    proc = subprocess.run(
        command, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        tail = _tail_text((proc.stdout + proc.stderr).splitlines(), 15)
        raise BrokerError(f"{failure} (exit {proc.returncode}){tail}")

def ensure_jars(settings: Settings, quiet: bool = False) -> Path:
    """Resolve the Kafka jars into ``settings.jars_dir`` unless already cached for this pom."""
    if not pom_path().exists():
        raise BrokerError(f"{pom_path()} not found; run streamproc from its source checkout")
    if jars_cached(settings):
        return settings.jars_dir
    mvn = shutil.which("mvn")
    if mvn is None:
        raise BrokerError(
            "Maven (mvn) is not installed; it is needed once to download the Kafka jars "
            "(apt-get install maven)"
        )
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with _lock(settings, "jars"):
        if jars_cached(settings):
            return settings.jars_dir
        say = (lambda _msg: None) if quiet else (lambda msg: print(msg, file=sys.stderr))
        say(f"Downloading Apache Kafka jars from Maven Central into {settings.jars_dir} ...")
        started = time.monotonic()
        tmp = Path(tempfile.mkdtemp(prefix=".jars-", dir=settings.state_dir))
        try:
            _run_checked(
                maven_command(pom_path(), tmp, mvn), "mvn failed to download the Kafka jars"
            )
            (tmp / ".complete").write_text(pom_hash() + "\n")
            if settings.jars_dir.is_symlink() or settings.jars_dir.is_file():
                settings.jars_dir.unlink()
            elif settings.jars_dir.exists():
                shutil.rmtree(settings.jars_dir)
            tmp.rename(settings.jars_dir)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        count = sum(1 for _ in settings.jars_dir.glob("*.jar"))
        say(f"Downloaded {count} jars in {time.monotonic() - started:.1f}s")
    return settings.jars_dir


# --------------------------------------------------------------------------- processes


def find_java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.access(Path(java_home) / "bin" / "java", os.X_OK):
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise BrokerError(
            "Java is not installed (need Java 17+ for Kafka 4; apt-get install openjdk-17-jre)"
        )
    return java


def _read_pid(settings: Settings) -> int | None:
    try:
        return int(pid_file(settings).read_text().strip())
    except (OSError, ValueError):
        return None


def _reap(pid: int) -> None:
    """Collect the exit status if we are the parent (avoids zombies in long test runs)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _alive(pid: int) -> bool:
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


def _is_our_broker(pid: int, settings: Settings) -> bool:
    if not _alive(pid):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.parent.exists():
        return True  # no /proc: trust the pid file
    try:
        args = cmdline.read_bytes().split(b"\0")
    except OSError:
        return False
    marker = f"-Dstreamproc.broker.dir={settings.broker_dir}".encode()
    return KAFKA_MAIN.encode() in args and marker in args


def running_pid(settings: Settings) -> int | None:
    """The pid of this state dir's broker if it is running, else None."""
    pid = _read_pid(settings)
    return pid if pid is not None and _is_our_broker(pid, settings) else None


def is_running(settings: Settings | None = None) -> bool:
    return running_pid(settings or config.load()) is not None


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
def _lock(settings: Settings, name: str = "broker") -> Iterator[None]:
    """A cross-process lock so concurrent start/stop calls do not race."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.state_dir / f".{name}.lock", "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# --------------------------------------------------------------------------- readiness


def _api_versions_ok(host: str, port: int, timeout: float) -> bool:
    """Send a Kafka ApiVersions v0 request; True on a well-formed, error-free answer.

    The broker only starts processing requests on its listener once it is unfenced, so an
    answer here means clients can produce and consume.
    """
    client_id = b"streamproc-probe"
    correlation = 0x5EED
    body = struct.pack(">hhih", 18, 0, correlation, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(struct.pack(">i", len(body)) + body)
            header = _recv_exact(s, 4)
            (size,) = struct.unpack(">i", header)
            if size < 6 or size > 1 << 20:
                return False
            payload = _recv_exact(s, size)
    except OSError:
        return False
    got_correlation, error_code = struct.unpack(">ih", payload[:6])
    return got_correlation == correlation and error_code == 0


def _recv_exact(s: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    return bytes(buf)


def wait_until_ready(
    bootstrap: str, timeout: float = DEFAULT_START_TIMEOUT, pid: int | None = None
) -> bool:
    """Poll ``host:port`` until the broker answers Kafka requests; False on timeout.

    With ``pid``, give up early (False) as soon as that process has exited.
    """
    host, port = bootstrap.rsplit(":", 1)
    deadline = time.monotonic() + timeout
    while True:
        if _api_versions_ok(host, int(port), timeout=2.0):
            return True
        if pid is not None and not _alive(pid):
            return False
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.25)


# --------------------------------------------------------------------------- lifecycle


def _tail_text(lines: list[str], n: int) -> str:
    tail = [line for line in lines if line.strip()][-n:]
    return ("\n" + "\n".join("    " + line for line in tail)) if tail else ""


def log_tail(settings: Settings, n: int = 20) -> str:
    lines: list[str] = []
    for path in (stdout_log(settings), server_log(settings)):
        with contextlib.suppress(OSError):
            lines += path.read_text(errors="replace").splitlines()[-n:]
    return _tail_text(lines, n)


def _format_storage(settings: Settings, java: str) -> None:
    if (data_dir(settings) / "meta.properties").exists():
        return
    id_file = settings.broker_dir / "cluster.id"
    if not id_file.exists():
        id_file.write_text(new_cluster_id() + "\n")
    cluster_id = id_file.read_text().strip()
    _run_checked(format_command(settings, cluster_id, java), "formatting the Kafka storage failed")


def start(settings: Settings | None = None, timeout: float = DEFAULT_START_TIMEOUT) -> str:
    """Start the broker in the background (idempotent) and return its bootstrap address.

    Returns as soon as the broker answers requests. If it is already running, only waits
    for it to be ready. Raises :class:`BrokerError` on any problem.
    """
    settings = settings or config.load()
    bootstrap = settings.bootstrap
    with _lock(settings):
        pid = running_pid(settings)
        if pid is None:
            pid = _launch(settings)
    if not wait_until_ready(bootstrap, timeout, pid=pid):
        if _alive(pid):
            _terminate(pid, DEFAULT_STOP_TIMEOUT)
            reason = f"did not answer on {bootstrap} within {timeout:.0f}s"
        else:
            reason = "exited during start-up"
        with contextlib.suppress(OSError):
            pid_file(settings).unlink()
        raise BrokerError(f"the Kafka broker {reason}; last log lines:{log_tail(settings)}")
    return bootstrap


def check_ports(settings: Settings) -> None:
    """Fail with a clear message if the broker or controller port is taken."""
    host = listen_host(settings)
    for port, what in ((settings.broker_port, "broker"), (settings.controller_port, "controller")):
        if port_in_use(host, port):
            env = "STREAMPROC_BROKER" if what == "broker" else "STREAMPROC_CONTROLLER_PORT"
            raise BrokerError(
                f"port {port} on {host} ({what}) is already in use by another process; "
                f"stop it or choose another port with {env}"
            )


def _launch(settings: Settings) -> int:
    props = server_properties(settings)
    java = find_java()
    check_ports(settings)
    ensure_jars(settings)
    for d in (settings.broker_dir, data_dir(settings), logs_dir(settings)):
        d.mkdir(parents=True, exist_ok=True)
    properties_file(settings).write_text(render_properties(props))
    _format_storage(settings, java)
    with open(stdout_log(settings), "ab") as out:
        out.write(
            f"\n=== streamproc broker start {time.strftime('%Y-%m-%dT%H:%M:%S')} ===\n".encode()
        )
        out.flush()
        proc = subprocess.Popen(
            java_command(settings, java),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=settings.broker_dir,
            start_new_session=True,  # survives the CLI and its terminal's Ctrl-C
            close_fds=True,
        )
    pid_file(settings).write_text(f"{proc.pid}\n")
    # Keep the Popen object alive for this process so it is not reported as a leak.
    _children[proc.pid] = proc
    return proc.pid


_children: dict[int, subprocess.Popen[bytes]] = {}


def _terminate(pid: int, timeout: float) -> bool:
    """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL. True if it needed SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            _children.pop(pid, None)
            return False
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    while _alive(pid):
        time.sleep(0.05)
    _children.pop(pid, None)
    return True


def stop(settings: Settings | None = None, timeout: float = DEFAULT_STOP_TIMEOUT) -> bool:
    """Stop the broker (idempotent). True if a running broker was stopped."""
    settings = settings or config.load()
    with _lock(settings):
        pid = running_pid(settings)
        if pid is not None:
            _terminate(pid, timeout)
        with contextlib.suppress(OSError):
            pid_file(settings).unlink()
    return pid is not None


def status(settings: Settings | None = None) -> BrokerStatus:
    settings = settings or config.load()
    pid = running_pid(settings)
    host, port = settings.bootstrap.rsplit(":", 1)
    ready = pid is not None and _api_versions_ok(host, int(port), timeout=2.0)
    return BrokerStatus(
        running=pid is not None,
        pid=pid,
        bootstrap=settings.bootstrap,
        ready=ready,
        broker_dir=settings.broker_dir,
        data_dir=data_dir(settings),
        log_file=server_log(settings),
    )


# --------------------------------------------------------------------------- CLI
