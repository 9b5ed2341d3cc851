"""One node's JVM: the command lines that format its storage and run it, launching it in
the background, finding its pid again from its pid file, and stopping nodes.

A pid file alone is not trusted: the pid must belong to a live ``kafka.Kafka`` process
started for the same node directory, so a stale file (a reboot, a reused pid) never makes
an unrelated process look like our broker, nor gets it killed.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from streamproc import config
from streamproc.config import Settings
from streamproc.localkafka.errors import BrokerError
from streamproc.localkafka.jars import classpath
from streamproc.localkafka.layout import Node, listen_host, log4j_path, single_node
from streamproc.localkafka.process import (
    alive,
    port_in_use,
    read_pid_file,
    run_checked,
    spawn,
    tail_text,
    terminate,
)
from streamproc.localkafka.properties import render_properties

KAFKA_MAIN = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"
DEFAULT_HEAP = "-Xmx1g -Xms256m"  # a test run leaves many topics behind, each held in memory
OWNER_PROPERTY = "-Dstreamproc.broker.dir"  # marks a JVM as a node's, with its directory


def _jvm_options(node: Node) -> list[str]:
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
        f"{OWNER_PROPERTY}={node.dir}",
    ]


def java_command(settings: Settings, java: str = "java", node: Node | None = None) -> list[str]:
    """The command line that runs the broker (or one node of a cluster) in the foreground."""
    node = node or single_node(settings)
    return [
        java,
        *_jvm_options(node),
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


def _is_our_node(pid: int, directory: Path) -> bool:
    if not alive(pid):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.parent.exists():
        return True  # no /proc: trust the pid file
    try:
        args = cmdline.read_bytes().split(b"\0")
    except OSError:
        return False
    return KAFKA_MAIN.encode() in args and f"{OWNER_PROPERTY}={directory}".encode() in args


def pid_of(node: Node) -> int | None:
    """The pid of the node's JVM if it runs, else None."""
    pid = read_pid_file(node.pid_file)
    return pid if pid is not None and _is_our_node(pid, node.dir) else None


def running_pid(settings: Settings) -> int | None:
    """The pid of this state dir's (single-node) broker if it is running, else None."""
    return pid_of(single_node(settings))


def is_running(settings: Settings | None = None) -> bool:
    """True if this state dir's single-node broker runs (see ``running_cluster``)."""
    return running_pid(settings or config.load()) is not None


def check_ports(settings: Settings) -> None:
    """Fail with a clear message if the single broker's port or controller port is taken."""
    host = listen_host(settings)
    for port, what in ((settings.broker_port, "broker"), (settings.controller_port, "controller")):
        if port_in_use(host, port):
            env = "STREAMPROC_BROKER" if what == "broker" else "STREAMPROC_CONTROLLER_PORT"
            raise BrokerError(
                f"port {port} on {host} ({what}) is already in use by another process; "
                f"stop it or choose another port with {env}"
            )


def check_node_ports(node: Node) -> None:
    """Fail with a clear message if a cluster node's client or controller port is taken."""
    for port, what in ((node.port, "client"), (node.controller_port, "controller")):
        if port_in_use(node.host, port):
            raise BrokerError(
                f"port {port} on {node.host} (node {node.node_id} {what}) is already in use "
                "by another process; stop it or choose other ports with STREAMPROC_BROKER "
                "and STREAMPROC_CONTROLLER_PORT"
            )


def launch_node(settings: Settings, node: Node, props: dict[str, str], cluster_id: str,
                java: str) -> int:
    """Write the node's configuration, format its storage if it never was, and start its
    JVM in the background; its pid (written to its pid file). Does not wait for it."""
    for d in (node.dir, node.data_dir, node.logs_dir):
        d.mkdir(parents=True, exist_ok=True)
    node.properties_file.write_text(render_properties(props))
    if not node.meta_file.exists():
        run_checked(format_command(settings, cluster_id, java, node),
                    "formatting the Kafka storage failed")
    banner = f"\n=== streamproc broker start {time.strftime('%Y-%m-%dT%H:%M:%S')} ===\n"
    pid = spawn(java_command(settings, java, node), node.stdout_log, node.dir, banner)
    node.pid_file.write_text(f"{pid}\n")
    return pid


def stop_nodes(nodes: list[Node], timeout: float, kill: bool = False) -> bool:
    """SIGTERM every running node at once (SIGKILL with ``kill``), wait for them; remove the
    pid files. True if any was running."""
    pids = [pid for pid in map(pid_of, nodes) if pid is not None]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL if kill else signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for pid in pids:
        terminate(pid, max(0.0, deadline - time.monotonic()))
    for node in nodes:
        with contextlib.suppress(OSError):
            node.pid_file.unlink()
    return bool(pids)


def log_tail(node: Node, n: int = 20) -> str:
    """The last lines of the node's JVM output and server log, for a failed start."""
    lines: list[str] = []
    for path in (node.stdout_log, node.server_log):
        with contextlib.suppress(OSError):
            lines += path.read_text(errors="replace").splitlines()[-n:]
    return tail_text(lines, n)
