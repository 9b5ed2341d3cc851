"""What ``streamproc broker status`` reports: the single broker, or every node of a cluster
with the controller quorum; running means a live JVM, ready that it answers requests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from streamproc import config
from streamproc.config import Settings
from streamproc.localkafka.errors import BrokerError
from streamproc.localkafka.jvm import pid_of, running_pid
from streamproc.localkafka.layout import Node, cluster_nodes, single_node
from streamproc.localkafka.properties import client_env
from streamproc.localkafka.protocol import Quorum, api_versions_ok, describe_quorum
from streamproc.localkafka.record import recorded_cluster


def _running_state(running: bool, pid: int | None, ready: bool) -> str:
    state = f"running (pid {pid})" if running else "stopped"
    if running and not ready:
        state += ", not answering yet"
    return state


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
        state = _running_state(self.running, self.pid, self.ready)
        return "\n".join(
            [
                f"broker:    {state}",
                f"bootstrap: {self.bootstrap}",
                f"data dir:  {self.data_dir}",
                f"log file:  {self.log_file}",
            ]
        )


@dataclass(frozen=True)
class NodeStatus:
    node: Node
    pid: int | None
    ready: bool

    @property
    def running(self) -> bool:
        return self.pid is not None

    def describe(self) -> str:
        n, state = self.node, _running_state(self.running, self.pid, self.ready)
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


def status(settings: Settings | None = None) -> BrokerStatus:
    """The single-node broker (see :func:`cluster_status` for a cluster)."""
    settings = settings or config.load()
    pid = running_pid(settings)
    node = single_node(settings)
    ready = pid is not None and api_versions_ok(node.host, node.port, timeout=2.0)
    return BrokerStatus(
        running=pid is not None,
        pid=pid,
        bootstrap=node.bootstrap,
        ready=ready,
        broker_dir=settings.broker_dir,
        data_dir=node.data_dir,
        log_file=node.server_log,
    )


def _node_status(node: Node) -> NodeStatus:
    pid = pid_of(node)
    ready = pid is not None and api_versions_ok(node.host, node.port, timeout=2.0)
    return NodeStatus(node, pid, ready)


def cluster_status(settings: Settings | None = None, brokers: int | None = None) -> ClusterStatus:
    """Every node of the recorded cluster (or of a ``brokers``-node layout from the settings
    when none is recorded or it has another size) and the controller quorum."""
    settings = settings or config.load()
    nodes = recorded_cluster(settings)
    if brokers is not None and (nodes is None or len(nodes) != brokers):
        nodes = cluster_nodes(settings, brokers)
    if nodes is None:
        raise BrokerError(f"no cluster was started in {settings.state_dir}")
    states = [_node_status(node) for node in nodes]
    answering = ",".join(s.node.bootstrap for s in states if s.ready)
    return ClusterStatus(states, describe_quorum(answering) if answering else None)
