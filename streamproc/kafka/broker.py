"""`streamproc broker start|stop|status`: a real Apache Kafka broker, or a cluster of them,
on this machine.

The broker is Apache Kafka 4.1 in KRaft mode, bound to 127.0.0.1 only. Its jars are resolved
once from Maven Central with ``mvn`` using ``broker/pom.xml`` and cached in
``Settings.jars_dir``.

One node (the default): one JVM that is both broker and controller (node id 1); its
configuration, data, logs and pid file live in ``Settings.broker_dir``::

    .streamproc/jars/                 Kafka jars (+ .complete marker holding the pom hash)
    .streamproc/kafka/server.properties
    .streamproc/kafka/cluster.id      generated once, used to format the storage
    .streamproc/kafka/data/           log.dirs (topics and the KRaft metadata log)
    .streamproc/kafka/logs/           server.log (log4j2, WARN) and stdout.log (JVM output)
    .streamproc/kafka/broker.pid

A cluster (``brokers=3``): three JVMs, each broker and controller (node ids 1..3, a static
controller quorum of the three), client ports ``port, port+2, port+4`` and controller ports
``controller_port, +2, +4`` (9092/9094/9096 and 9093/9095/9097 by default), replication
factor 3 and ``min.insync.replicas`` 2::

    .streamproc/kafka-cluster.json    size, cluster id and ports of the cluster (kept)
    .streamproc/kafka-<id>/           server.properties, data/, logs/, broker.pid per node

Python API (used by tests and other commands): :func:`ensure_jars`, :func:`start`,
:func:`stop`, :func:`status`, :func:`is_running`, :func:`wait_until_ready`; for a cluster
also :func:`cluster_status`, :func:`start_node`, :func:`stop_node`, :func:`node_pid`,
:func:`recorded_cluster`, :func:`describe_quorum`. All failures raise :class:`BrokerError`
with a one-line message.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import fcntl
import hashlib
import json
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
DEFAULT_HEAP = "-Xmx1g -Xms256m"  # a test suite leaves thousands of topics
DEFAULT_START_TIMEOUT = 120.0
DEFAULT_STOP_TIMEOUT = 30.0
MAX_BROKERS = 9
CLUSTER_FILE = "kafka-cluster.json"
PORT_STEP = 2  # node i listens on port + 2*(i-1) and controller_port + 2*(i-1)
METADATA_TOPIC = "__cluster_metadata"
_LOOPBACK = {"127.0.0.1", "localhost"}
LOOPBACK = "127.0.0.1"


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


@dataclass(frozen=True)
class Node:
    """One Kafka process (broker and controller in one JVM) and its directory."""

    node_id: int
    port: int
    controller_port: int
    dir: Path
    host: str = LOOPBACK

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.dir / "broker.pid"

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"

    @property
    def logs_dir(self) -> Path:
        return self.dir / "logs"

    @property
    def properties_file(self) -> Path:
        return self.dir / "server.properties"

    @property
    def stdout_log(self) -> Path:
        return self.logs_dir / "stdout.log"

    @property
    def server_log(self) -> Path:
        return self.logs_dir / "server.log"


@dataclass(frozen=True)
class Quorum:
    """The KRaft controller quorum as the active controller describes it (DescribeQuorum)."""

    leader_id: int
    leader_epoch: int
    high_watermark: int
    voters: dict[int, int]  # node id -> end offset of its copy of the metadata log
    observers: dict[int, int]

    def lag(self, node_id: int) -> int | None:
        offset = self.voters.get(node_id, self.observers.get(node_id))
        return None if offset is None else max(0, self.high_watermark - offset)

    def describe(self) -> str:
        voters = " ".join(str(v) for v in sorted(self.voters))
        lags = " ".join(str(self.lag(v)) for v in sorted(self.voters))
        return (f"leader {self.leader_id} (epoch {self.leader_epoch}), voters {voters}, "
                f"metadata lag {lags}")


@dataclass(frozen=True)
class NodeStatus:
    node: Node
    pid: int | None
    ready: bool

    @property
    def running(self) -> bool:
        return self.pid is not None

    def describe(self) -> str:
        state = f"running (pid {self.pid})" if self.running else "stopped"
        if self.running and not self.ready:
            state += ", not answering yet"
        n = self.node
        return (f"node {n.node_id}:    {state}, client {n.bootstrap}, controller "
                f"{n.host}:{n.controller_port}, dir {n.dir}")


@dataclass(frozen=True)
class ClusterStatus:
    nodes: list[NodeStatus]
    quorum: Quorum | None

    @property
    def bootstrap(self) -> str:
        return ",".join(s.node.bootstrap for s in self.nodes)

    @property
    def running(self) -> bool:
        return any(s.running for s in self.nodes)

    @property
    def ready(self) -> bool:
        return all(s.ready for s in self.nodes)

    def describe(self) -> str:
        running = sum(s.running for s in self.nodes)
        ready = sum(s.ready for s in self.nodes)
        quorum = self.quorum.describe() if self.quorum else "unknown (no node answers)"
        return "\n".join(
            [
                f"cluster:   {len(self.nodes)} nodes, {running} running, {ready} answering",
                f"bootstrap: {self.bootstrap}",
                f"clients:   {client_env(self.bootstrap, len(self.nodes))}",
                f"quorum:    {quorum}",
                *(s.describe() for s in self.nodes),
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


def node_dir(settings: Settings, node_id: int) -> Path:
    """The directory of one node of a cluster: ``<state dir>/kafka-<id>``."""
    return settings.state_dir / f"kafka-{node_id}"


def cluster_file(settings: Settings) -> Path:
    return settings.state_dir / CLUSTER_FILE


# --------------------------------------------------------------------------- pure helpers


def listen_host(settings: Settings) -> str:
    """The address to bind: the broker URL's hosts, which must be the loopback interface."""
    for server in settings.bootstrap_servers:
        host = server.rsplit(":", 1)[0].strip("[]")
        if host not in _LOOPBACK:
            raise BrokerError(
                f"STREAMPROC_BROKER={settings.broker_url} is not local; the managed broker "
                "only runs on 127.0.0.1 (use kafka://127.0.0.1:<port>)"
            )
    return LOOPBACK


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (22 chars).

    Never one starting with ``-`` (1 in 64 would): ``kafka-storage format --cluster-id -x..``
    takes it for an option and fails, as Kafka's own ``Uuid.randomUuid`` also avoids."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        if not cid.startswith("-"):
            return cid


def single_node(settings: Settings) -> Node:
    """The one node of the default mode: node id 1 in ``Settings.broker_dir``, at the host
    the broker URL names (127.0.0.1 or localhost; it binds 127.0.0.1)."""
    host = settings.bootstrap_servers[0].rsplit(":", 1)[0].strip("[]")
    return Node(1, settings.broker_port, settings.controller_port, settings.broker_dir, host)


def cluster_nodes(settings: Settings, brokers: int) -> list[Node]:
    """The nodes of a ``brokers``-node cluster for these settings (1: :func:`single_node`).

    Client ports: the ones ``STREAMPROC_BROKER`` lists when it lists ``brokers`` of them,
    else ``port, port+2, ...`` from its (first) port; controller ports ``controller_port,
    +2, ...``. Every port must be distinct.
    """
    if not 1 <= brokers <= MAX_BROKERS:
        raise BrokerError(f"--brokers must be between 1 and {MAX_BROKERS}, not {brokers}")
    host = listen_host(settings)
    if brokers == 1:
        return [single_node(settings)]
    listed = [int(s.rsplit(":", 1)[1]) for s in settings.bootstrap_servers]
    if len(listed) == brokers:
        ports = listed
    elif len(listed) == 1:
        ports = [listed[0] + PORT_STEP * i for i in range(brokers)]
    else:
        raise BrokerError(
            f"STREAMPROC_BROKER lists {len(listed)} brokers but the cluster has {brokers}; "
            f"list one (the first port) or all {brokers}"
        )
    controllers = [settings.controller_port + PORT_STEP * i for i in range(brokers)]
    everything = ports + controllers
    if len(set(everything)) != len(everything) or not all(0 < p < 65536 for p in everything):
        raise BrokerError(
            f"the cluster's ports overlap or are out of range (clients {ports}, controllers "
            f"{controllers}); choose STREAMPROC_BROKER and STREAMPROC_CONTROLLER_PORT apart"
        )
    return [
        Node(i + 1, ports[i], controllers[i], node_dir(settings, i + 1), host)
        for i in range(brokers)
    ]


def replication_of(brokers: int) -> tuple[int, int]:
    """(replication factor, min.insync.replicas) of a cluster: (1, 1), (2, 1), (3, 2) from
    three nodes on: a write acknowledged by all in-sync replicas survives one node lost."""
    factor = min(brokers, 3)
    return factor, max(1, factor - 1)


def client_env(bootstrap: str, brokers: int) -> str:
    """The settings clients of this broker or cluster use."""
    factor, _ = replication_of(brokers)
    return f"STREAMPROC_BROKER=kafka://{bootstrap} STREAMPROC_REPLICATION={factor}"


def node_properties(settings: Settings, node: Node, nodes: list[Node]) -> dict[str, str]:
    """The configuration of one node of ``nodes`` (KRaft, loopback only, tuned for tests)."""
    host = listen_host(settings)
    bport, cport = node.port, node.controller_port
    if bport == cport:
        raise BrokerError(f"broker and controller ports are both {bport}; they must differ")
    factor, min_isr = (str(v) for v in replication_of(len(nodes)))
    voters = ",".join(f"{n.node_id}@{host}:{n.controller_port}" for n in nodes)
    return {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://{host}:{bport},CONTROLLER://{host}:{cport}",
        "advertised.listeners": f"PLAINTEXT://{host}:{bport}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(node.data_dir),
        "num.partitions": str(settings.partitions),
        "default.replication.factor": factor,
        "min.insync.replicas": min_isr,
        "offsets.topic.replication.factor": factor,
        "offsets.topic.num.partitions": str(settings.partitions),
        "transaction.state.log.replication.factor": factor,
        "transaction.state.log.min.isr": min_isr,
        "share.coordinator.state.topic.replication.factor": factor,
        "share.coordinator.state.topic.min.isr": min_isr,
        "auto.create.topics.enable": "true",
        "delete.topic.enable": "true",
        "group.initial.rebalance.delay.ms": "0",
        "num.network.threads": "2",
        "num.io.threads": "4",
        "num.recovery.threads.per.data.dir": "1",
    }


def server_properties(settings: Settings) -> dict[str, str]:
    """The single-node broker configuration: one KRaft node, loopback only."""
    node = single_node(settings)
    return node_properties(settings, node, [node])


def cluster_properties(settings: Settings, brokers: int) -> dict[int, dict[str, str]]:
    """The configuration of every node of a ``brokers``-node cluster, by node id."""
    nodes = cluster_nodes(settings, brokers)
    return {n.node_id: node_properties(settings, n, nodes) for n in nodes}


def render_properties(props: dict[str, str]) -> str:
    """Java .properties text (values here never need escaping beyond backslashes)."""
    lines = ["# Written by `streamproc broker start`; regenerated on every start."]
    lines += [f"{key}={value.replace(chr(92), chr(92) * 2)}" for key, value in props.items()]
    return "\n".join(lines) + "\n"


def classpath(settings: Settings) -> str:
    return str(settings.jars_dir / "*")


def jvm_options(settings: Settings, node: Node | None = None) -> list[str]:
    node = node or single_node(settings)
    heap = os.environ.get("KAFKA_HEAP_OPTS", DEFAULT_HEAP).split()
    return [
        *heap,
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-XX:InitiatingHeapOccupancyPercent=35",
        "-XX:+ExplicitGCInvokesConcurrent",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j_path()}",
        f"-Dkafka.logs.dir={node.logs_dir}",
        # Marks the process as ours (checked against /proc/<pid>/cmdline).
        f"-Dstreamproc.broker.dir={node.dir}",
    ]


def java_command(settings: Settings, java: str = "java", node: Node | None = None) -> list[str]:
    """The command line that runs the broker (or one node of a cluster) in the foreground."""
    node = node or single_node(settings)
    return [
        java,
        *jvm_options(settings, node),
        "-cp",
        classpath(settings),
        KAFKA_MAIN,
        str(node.properties_file),
    ]


def format_command(
    settings: Settings, cluster_id: str, java: str = "java", node: Node | None = None
) -> list[str]:
    """``kafka-storage format`` for a node's log dir (static quorum: no --standalone)."""
    node = node or single_node(settings)
    return [
        java,
        "-Xmx256m",
        f"-Dlog4j2.configurationFile={log4j_path()}",
        f"-Dkafka.logs.dir={node.logs_dir}",
        "-cp",
        classpath(settings),
        STORAGE_TOOL,
        "format",
        "--cluster-id",
        cluster_id,
        "--config",
        str(node.properties_file),
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


def _read_pid_file(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _read_pid(settings: Settings) -> int | None:
    return _read_pid_file(pid_file(settings))


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


def _is_our_node(pid: int, directory: Path) -> bool:
    if not _alive(pid):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.parent.exists():
        return True  # no /proc: trust the pid file
    try:
        args = cmdline.read_bytes().split(b"\0")
    except OSError:
        return False
    marker = f"-Dstreamproc.broker.dir={directory}".encode()
    return KAFKA_MAIN.encode() in args and marker in args


def _is_our_broker(pid: int, settings: Settings) -> bool:
    return _is_our_node(pid, settings.broker_dir)


def _node_pid(node: Node) -> int | None:
    pid = _read_pid_file(node.pid_file)
    return pid if pid is not None and _is_our_node(pid, node.dir) else None


def running_pid(settings: Settings) -> int | None:
    """The pid of this state dir's (single-node) broker if it is running, else None."""
    return _node_pid(single_node(settings))


def is_running(settings: Settings | None = None) -> bool:
    """True if this state dir's single-node broker runs (see :func:`running_cluster`)."""
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
        payload = _request(host, port, body, timeout)
    except OSError:
        return False
    if len(payload) < 6:
        return False
    got_correlation, error_code = struct.unpack(">ih", payload[:6])
    return got_correlation == correlation and error_code == 0


def _request(host: str, port: int, body: bytes, timeout: float) -> bytes:
    """One Kafka request (size-prefixed) on a fresh connection; the response payload."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(struct.pack(">i", len(body)) + body)
        (size,) = struct.unpack(">i", _recv_exact(s, 4))
        if size < 4 or size > 1 << 20:
            raise ConnectionError(f"implausible response size {size}")
        return _recv_exact(s, size)


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


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


class _Reader:
    """Decoder of the few Kafka wire types DescribeQuorum v0 (a flexible version) uses."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError("truncated response")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def int(self, fmt: str) -> int:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def uvarint(self) -> int:
        shift = value = 0
        while True:
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7

    def compact_string(self) -> str:
        return self.take(self.uvarint() - 1).decode("utf-8", "replace")

    def tagged_fields(self) -> None:
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())

    def replicas(self) -> dict[int, int]:
        out = {}
        for _ in range(self.uvarint() - 1):
            replica, end_offset = self.int(">i"), self.int(">q")
            self.tagged_fields()
            out[replica] = end_offset
        return out


def describe_quorum_request(correlation: int = 0x51AB) -> bytes:
    """DescribeQuorum v0 (api key 55) for partition 0 of the metadata topic; request header
    v2 (flexible), so the client id is a plain nullable string followed by tagged fields."""
    client_id = b"streamproc-probe"
    name = METADATA_TOPIC.encode()
    header = struct.pack(">hhih", 55, 0, correlation, len(client_id)) + client_id + b"\0"
    topic = _uvarint(len(name) + 1) + name + _uvarint(2) + struct.pack(">i", 0) + b"\0" + b"\0"
    return header + _uvarint(2) + topic + b"\0"


def parse_describe_quorum(payload: bytes, correlation: int = 0x51AB) -> Quorum:
    """The answer to :func:`describe_quorum_request`; ValueError if it is an error."""
    r = _Reader(payload)
    if r.int(">i") != correlation:
        raise ValueError("correlation id mismatch")
    r.tagged_fields()  # response header v1
    if error := r.int(">h"):
        raise ValueError(f"DescribeQuorum error {error}")
    for _ in range(r.uvarint() - 1):
        topic = r.compact_string()
        for _ in range(r.uvarint() - 1):
            r.int(">i")  # partition index
            error = r.int(">h")
            leader, epoch, high_watermark = r.int(">i"), r.int(">i"), r.int(">q")
            voters, observers = r.replicas(), r.replicas()
            r.tagged_fields()
            if topic == METADATA_TOPIC:
                if error:
                    raise ValueError(f"DescribeQuorum partition error {error}")
                return Quorum(leader, epoch, high_watermark, voters, observers)
        r.tagged_fields()
    raise ValueError("no metadata partition in the answer")


def describe_quorum(bootstrap: str, timeout: float = 5.0) -> Quorum | None:
    """The controller quorum, asked through the first broker of ``bootstrap`` (``h:p,h:p``)
    that answers (brokers forward DescribeQuorum to the active controller); None if none."""
    for server in bootstrap.split(","):
        host, port = server.strip().rsplit(":", 1)
        try:
            payload = _request(host, int(port), describe_quorum_request(), timeout)
            return parse_describe_quorum(payload)
        except (OSError, ValueError):
            continue
    return None


# --------------------------------------------------------------------------- lifecycle


def _tail_text(lines: list[str], n: int) -> str:
    tail = [line for line in lines if line.strip()][-n:]
    return ("\n" + "\n".join("    " + line for line in tail)) if tail else ""


def _node_log_tail(node: Node, n: int = 20) -> str:
    lines: list[str] = []
    for path in (node.stdout_log, node.server_log):
        with contextlib.suppress(OSError):
            lines += path.read_text(errors="replace").splitlines()[-n:]
    return _tail_text(lines, n)


def log_tail(settings: Settings, n: int = 20) -> str:
    return _node_log_tail(single_node(settings), n)


def _meta_cluster_id(node: Node) -> str | None:
    """The cluster id a node's storage was formatted with (its meta.properties)."""
    with contextlib.suppress(OSError):
        for line in (node.data_dir / "meta.properties").read_text().splitlines():
            if line.startswith("cluster.id="):
                return line.split("=", 1)[1].strip()
    return None


def _format_storage(settings: Settings, java: str, node: Node, cluster_id: str) -> None:
    if (node.data_dir / "meta.properties").exists():
        return
    _run_checked(format_command(settings, cluster_id, java, node),
                 "formatting the Kafka storage failed")


def _single_cluster_id(settings: Settings) -> str:
    id_file = settings.broker_dir / "cluster.id"
    if not id_file.exists():
        id_file.write_text(new_cluster_id() + "\n")
    return id_file.read_text().strip()


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


def _check_node_ports(node: Node) -> None:
    for port, what in ((node.port, "client"), (node.controller_port, "controller")):
        if port_in_use(node.host, port):
            raise BrokerError(
                f"port {port} on {node.host} (node {node.node_id} {what}) is already in use "
                "by another process; stop it or choose other ports with STREAMPROC_BROKER "
                "and STREAMPROC_CONTROLLER_PORT"
            )


def _launch_node(settings: Settings, node: Node, props: dict[str, str], cluster_id: str,
                 java: str) -> int:
    for d in (node.dir, node.data_dir, node.logs_dir):
        d.mkdir(parents=True, exist_ok=True)
    node.properties_file.write_text(render_properties(props))
    _format_storage(settings, java, node, cluster_id)
    with open(node.stdout_log, "ab") as out:
        out.write(
            f"\n=== streamproc broker start {time.strftime('%Y-%m-%dT%H:%M:%S')} ===\n".encode()
        )
        out.flush()
        proc = subprocess.Popen(
            java_command(settings, java, node),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=node.dir,
            start_new_session=True,  # survives the CLI and its terminal's Ctrl-C
            close_fds=True,
        )
    node.pid_file.write_text(f"{proc.pid}\n")
    # Keep the Popen object alive for this process so it is not reported as a leak.
    _children[proc.pid] = proc
    return proc.pid


def _launch(settings: Settings) -> int:
    props = server_properties(settings)
    java = find_java()
    check_ports(settings)
    ensure_jars(settings)
    node = single_node(settings)
    node.dir.mkdir(parents=True, exist_ok=True)
    formatted = (node.data_dir / "meta.properties").exists()
    cluster_id = "" if formatted else _single_cluster_id(settings)
    return _launch_node(settings, node, props, cluster_id, java)


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
    return _kill(pid)


def _kill(pid: int) -> bool:
    """SIGKILL and wait until it is gone. True if it was alive."""
    alive = _alive(pid)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    while _alive(pid):
        time.sleep(0.05)
    _children.pop(pid, None)
    return alive


def start(
    settings: Settings | None = None, timeout: float = DEFAULT_START_TIMEOUT, brokers: int = 1
) -> str:
    """Start the broker in the background (idempotent) and return its bootstrap address.

    Returns as soon as the broker answers requests. If it is already running, only waits
    for it to be ready. With ``brokers`` > 1, a cluster (:func:`start_cluster`). Raises
    :class:`BrokerError` on any problem.
    """
    settings = settings or config.load()
    if brokers != 1:
        return start_cluster(settings, brokers, timeout)
    bootstrap = single_node(settings).bootstrap
    with _lock(settings):
        _refuse_if_cluster_runs(settings)
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


def stop(
    settings: Settings | None = None,
    timeout: float = DEFAULT_STOP_TIMEOUT,
    brokers: int | None = None,
) -> bool:
    """Stop the broker (idempotent). True if a running broker was stopped.

    ``brokers=None`` stops whatever runs in the state dir: the single broker and every node
    of the recorded cluster; 1 only the single broker; more only the cluster.
    """
    settings = settings or config.load()
    with _lock(settings):
        targets: list[Node] = []
        if brokers in (None, 1):
            targets.append(single_node(settings))
        if brokers is None or brokers > 1:
            recorded = recorded_cluster(settings)
            if recorded is None and brokers is not None:
                recorded = cluster_nodes(settings, brokers)
            targets += recorded or []
        return _stop_nodes(targets, timeout)


def _stop_nodes(nodes: list[Node], timeout: float, kill: bool = False) -> bool:
    """SIGTERM every running node at once (SIGKILL with ``kill``), wait for them; remove the
    pid files. True if any was running."""
    pids = [pid for pid in map(_node_pid, nodes) if pid is not None]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL if kill else signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for pid in pids:
        _terminate(pid, max(0.0, deadline - time.monotonic()))
    for node in nodes:
        with contextlib.suppress(OSError):
            node.pid_file.unlink()
    return bool(pids)


def status(settings: Settings | None = None) -> BrokerStatus:
    """The single-node broker (see :func:`cluster_status` for a cluster)."""
    settings = settings or config.load()
    pid = running_pid(settings)
    node = single_node(settings)
    ready = pid is not None and _api_versions_ok(node.host, node.port, timeout=2.0)
    return BrokerStatus(
        running=pid is not None,
        pid=pid,
        bootstrap=node.bootstrap,
        ready=ready,
        broker_dir=settings.broker_dir,
        data_dir=data_dir(settings),
        log_file=server_log(settings),
    )


# --------------------------------------------------------------------------- cluster


def recorded_cluster(settings: Settings) -> list[Node] | None:
    """The nodes of the cluster last started in this state dir (``kafka-cluster.json``),
    running or not; None if no cluster was ever started here."""
    try:
        record = json.loads(cluster_file(settings).read_text())
        return [
            Node(n["node_id"], n["port"], n["controller_port"], Path(n["dir"]), n["host"])
            for n in record["nodes"]
        ]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _record_cluster(settings: Settings, nodes: list[Node], cluster_id: str) -> None:
    record = {
        "brokers": len(nodes),
        "cluster_id": cluster_id,
        "bootstrap": ",".join(n.bootstrap for n in nodes),
        "nodes": [
            {"node_id": n.node_id, "host": n.host, "port": n.port,
             "controller_port": n.controller_port, "dir": str(n.dir)}
            for n in nodes
        ],
    }
    tmp = cluster_file(settings).with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(cluster_file(settings))


def _recorded_cluster_id(settings: Settings) -> str | None:
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        return str(json.loads(cluster_file(settings).read_text())["cluster_id"])
    return None


def running_cluster(settings: Settings) -> list[Node] | None:
    """The recorded cluster if any of its nodes runs, else None."""
    nodes = recorded_cluster(settings)
    if nodes and any(_node_pid(n) is not None for n in nodes):
        return nodes
    return None


def _refuse_if_cluster_runs(settings: Settings) -> None:
    nodes = running_cluster(settings)
    if nodes:
        raise BrokerError(
            f"a {len(nodes)}-node cluster is running in {settings.state_dir} "
            f"({','.join(n.bootstrap for n in nodes)}); stop it first: streamproc broker stop"
        )


def _refuse_if_single_runs(settings: Settings) -> None:
    pid = running_pid(settings)
    if pid is not None:
        raise BrokerError(
            f"the single-node broker is running in {settings.broker_dir} (pid {pid}); "
            "stop it first: streamproc broker stop"
        )


def _cluster_to_start(settings: Settings, brokers: int) -> list[Node]:
    """The running cluster if it has ``brokers`` nodes, else a new layout from the settings
    (refused when a cluster of another size has formatted storage here)."""
    recorded = recorded_cluster(settings)
    if recorded and any(_node_pid(n) is not None for n in recorded):
        if len(recorded) != brokers:
            _refuse_if_cluster_runs(settings)
        return recorded
    if recorded and len(recorded) != brokers and any(
        (n.data_dir / "meta.properties").exists() for n in recorded
    ):
        raise BrokerError(
            f"the cluster in {settings.state_dir} has {len(recorded)} nodes; start it with "
            f"--brokers {len(recorded)}, or delete {settings.state_dir}/kafka-<id>/ and "
            f"{CLUSTER_FILE} for a new cluster"
        )
    return cluster_nodes(settings, brokers)


def _cluster_id(settings: Settings, nodes: list[Node]) -> str:
    """The id the nodes' storage was formatted with, else the recorded one, else a new one.
    Storage of two clusters is refused (that node could never join the quorum)."""
    found = {n.node_id: cid for n in nodes if (cid := _meta_cluster_id(n))}
    if len(set(found.values())) > 1:
        ids = ", ".join(f"node {i}: {cid}" for i, cid in sorted(found.items()))
        raise BrokerError(
            f"the nodes' storage belongs to different clusters ({ids}); delete the data/ "
            "dir of the odd one out (it copies the rest from the others when it starts)"
        )
    if found:
        return next(iter(found.values()))
    return _recorded_cluster_id(settings) or new_cluster_id()


def _start_nodes(settings: Settings, nodes: list[Node], targets: list[Node],
                 timeout: float) -> None:
    """Launch the ``targets`` of cluster ``nodes`` that are not running, then wait until all
    targets answer. On failure, stop what this call launched (and the failing node)."""
    with _lock(settings):
        _refuse_if_single_runs(settings)
        pids = {n.node_id: _node_pid(n) for n in targets}
        missing = [n for n in targets if pids[n.node_id] is None]
        launched: list[Node] = []
        if missing:
            props = {n.node_id: node_properties(settings, n, nodes) for n in nodes}
            java = find_java()
            for node in missing:
                _check_node_ports(node)
            ensure_jars(settings)
            cluster_id = _cluster_id(settings, nodes)
            _record_cluster(settings, nodes, cluster_id)
            try:
                for node in missing:
                    pids[node.node_id] = _launch_node(
                        settings, node, props[node.node_id], cluster_id, java)
                    launched.append(node)
            except BaseException:
                _stop_nodes(launched, DEFAULT_STOP_TIMEOUT)
                raise
    deadline = time.monotonic() + timeout
    for node in targets:
        pid = pids[node.node_id]
        assert pid is not None
        if wait_until_ready(node.bootstrap, max(0.0, deadline - time.monotonic()), pid=pid):
            continue
        if _alive(pid):
            reason = f"did not answer on {node.bootstrap} within {timeout:.0f}s"
        else:
            reason = "exited during start-up"
        tail = _node_log_tail(node)
        with _lock(settings):
            _stop_nodes(list({n.node_id: n for n in [*launched, node]}.values()),
                        DEFAULT_STOP_TIMEOUT)
        raise BrokerError(f"Kafka node {node.node_id} {reason}; last log lines:{tail}")


def start_cluster(
    settings: Settings | None = None, brokers: int = 3, timeout: float = DEFAULT_START_TIMEOUT
) -> str:
    """Start a ``brokers``-node KRaft cluster (idempotent: starts the nodes that are not
    running) and wait until every node answers; returns the bootstrap list ``h:p,h:p,...``."""
    settings = settings or config.load()
    if brokers == 1:
        return start(settings, timeout)
    nodes = _cluster_to_start(settings, brokers)
    _start_nodes(settings, nodes, nodes, timeout)
    return ",".join(n.bootstrap for n in nodes)


def _node_of(settings: Settings, node_id: int) -> tuple[Node, list[Node]]:
    nodes = recorded_cluster(settings)
    if not nodes:
        raise BrokerError(
            f"no cluster was started in {settings.state_dir}; "
            "start one first: streamproc broker start --brokers 3"
        )
    for node in nodes:
        if node.node_id == node_id:
            return node, nodes
    raise BrokerError(
        f"the cluster has nodes {', '.join(str(n.node_id) for n in nodes)}, not {node_id}"
    )


def start_node(
    settings: Settings | None, node_id: int, timeout: float = DEFAULT_START_TIMEOUT
) -> str:
    """Start one node of the recorded cluster again (idempotent); its bootstrap address."""
    settings = settings or config.load()
    node, nodes = _node_of(settings, node_id)
    _start_nodes(settings, nodes, [node], timeout)
    return node.bootstrap


def stop_node(
    settings: Settings | None,
    node_id: int,
    timeout: float = DEFAULT_STOP_TIMEOUT,
    kill: bool = False,
) -> bool:
    """Stop one node of the recorded cluster (SIGTERM; SIGKILL at once with ``kill``, a
    crash). True if it was running."""
    settings = settings or config.load()
    node, _ = _node_of(settings, node_id)
    with _lock(settings):
        return _stop_nodes([node], timeout, kill=kill)


def node_pid(settings: Settings | None, node_id: int) -> int | None:
    """The pid of one node of the recorded cluster, None if it is not running."""
    settings = settings or config.load()
    node, _ = _node_of(settings, node_id)
    return _node_pid(node)


def cluster_status(settings: Settings | None = None, brokers: int | None = None) -> ClusterStatus:
    """Every node of the recorded cluster (or of a ``brokers``-node layout from the settings
    when none is recorded or it has another size) and the controller quorum."""
    settings = settings or config.load()
    nodes = recorded_cluster(settings)
    if brokers is not None and (nodes is None or len(nodes) != brokers):
        nodes = cluster_nodes(settings, brokers)
    if nodes is None:
        raise BrokerError(f"no cluster was started in {settings.state_dir}")
    states = []
    for node in nodes:
        pid = _node_pid(node)
        ready = pid is not None and _api_versions_ok(node.host, node.port, timeout=2.0)
        states.append(NodeStatus(node, pid, ready))
    answering = ",".join(s.node.bootstrap for s in states if s.ready)
    quorum = describe_quorum(answering) if answering else None
    return ClusterStatus(states, quorum)
