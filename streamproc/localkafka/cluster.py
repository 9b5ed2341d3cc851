"""Starting and stopping the local Kafka: the single broker, a cluster, or one node of one.

A state dir runs the single broker or a cluster, never both (their ports and roles would
clash). Starting is idempotent: nodes already running are only waited for. A start that
fails stops what it launched and puts the node's last log lines in its error.
"""

from __future__ import annotations

import contextlib
import time
from typing import NoReturn

from streamproc import config
from streamproc.config import Settings
from streamproc.localkafka.errors import BrokerError
from streamproc.localkafka.jars import ensure_jars
from streamproc.localkafka.jvm import (
    check_node_ports,
    check_ports,
    launch_node,
    log_tail,
    pid_of,
    running_pid,
    stop_nodes,
)
from streamproc.localkafka.layout import CLUSTER_FILE, Node, cluster_nodes, single_node
from streamproc.localkafka.process import (
    DEFAULT_STOP_TIMEOUT,
    alive,
    find_java,
    state_lock,
    terminate,
)
from streamproc.localkafka.properties import node_properties, server_properties
from streamproc.localkafka.protocol import DEFAULT_START_TIMEOUT, wait_until_ready
from streamproc.localkafka.record import (
    cluster_id_for,
    record_cluster,
    recorded_cluster,
    single_cluster_id,
)

# --------------------------------------------------------------------------- either mode


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
    node = single_node(settings)
    with state_lock(settings):
        _refuse_if_cluster_runs(settings)
        pid = running_pid(settings)
        if pid is None:
            pid = _launch_single(settings)
    if not wait_until_ready(node.bootstrap, timeout, pid=pid):
        _fail_single(node, pid, timeout)
    return node.bootstrap


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
    with state_lock(settings):
        targets: list[Node] = []
        if brokers in (None, 1):
            targets.append(single_node(settings))
        if brokers is None or brokers > 1:
            recorded = recorded_cluster(settings)
            if recorded is None and brokers is not None:
                recorded = cluster_nodes(settings, brokers)
            targets += recorded or []
        return stop_nodes(targets, timeout)


def running_cluster(settings: Settings) -> list[Node] | None:
    """The recorded cluster if any of its nodes runs, else None."""
    nodes = recorded_cluster(settings)
    if nodes and any(pid_of(n) is not None for n in nodes):
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


# --------------------------------------------------------------------------- single broker


def _launch_single(settings: Settings) -> int:
    """Check everything a launch needs (configuration, Java, ports, jars), then launch."""
    props = server_properties(settings)
    java = find_java()
    check_ports(settings)
    ensure_jars(settings)
    node = single_node(settings)
    node.dir.mkdir(parents=True, exist_ok=True)
    cluster_id = "" if node.meta_file.exists() else single_cluster_id(settings)
    return launch_node(settings, node, props, cluster_id, java)


def _fail_single(node: Node, pid: int, timeout: float) -> NoReturn:
    if alive(pid):
        terminate(pid, DEFAULT_STOP_TIMEOUT)
        reason = f"did not answer on {node.bootstrap} within {timeout:.0f}s"
    else:
        reason = "exited during start-up"
    with contextlib.suppress(OSError):
        node.pid_file.unlink()
    raise BrokerError(f"the Kafka broker {reason}; last log lines:{log_tail(node)}")


# --------------------------------------------------------------------------- cluster


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
    with state_lock(settings):
        return stop_nodes([node], timeout, kill=kill)


def node_pid(settings: Settings | None, node_id: int) -> int | None:
    """The pid of one node of the recorded cluster, None if it is not running."""
    settings = settings or config.load()
    node, _ = _node_of(settings, node_id)
    return pid_of(node)


def _node_of(settings: Settings, node_id: int) -> tuple[Node, list[Node]]:
    """Node ``node_id`` of the recorded cluster, and all its nodes."""
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


def _cluster_to_start(settings: Settings, brokers: int) -> list[Node]:
    """The running cluster if it has ``brokers`` nodes, else a new layout from the settings
    (refused when a cluster of another size has formatted storage here)."""
    recorded = recorded_cluster(settings)
    if recorded and any(pid_of(n) is not None for n in recorded):
        if len(recorded) != brokers:
            _refuse_if_cluster_runs(settings)
        return recorded
    if recorded and len(recorded) != brokers and any(n.meta_file.exists() for n in recorded):
        raise BrokerError(
            f"the cluster in {settings.state_dir} has {len(recorded)} nodes; start it with "
            f"--brokers {len(recorded)}, or delete {settings.state_dir}/kafka-<id>/ and "
            f"{CLUSTER_FILE} for a new cluster"
        )
    return cluster_nodes(settings, brokers)


def _start_nodes(settings: Settings, nodes: list[Node], targets: list[Node],
                 timeout: float) -> None:
    """Launch the ``targets`` of cluster ``nodes`` that are not running, then wait until all
    targets answer. On failure, stop what this call launched (and the failing node)."""
    with state_lock(settings):
        _refuse_if_single_runs(settings)
        pids = {n.node_id: pid_of(n) for n in targets}
        missing = [n for n in targets if pids[n.node_id] is None]
        if missing:
            pids.update(_launch_nodes(settings, nodes, missing))
    deadline = time.monotonic() + timeout
    for node in targets:
        pid = pids[node.node_id]
        assert pid is not None
        if not wait_until_ready(node.bootstrap, max(0.0, deadline - time.monotonic()), pid=pid):
            _fail_node(settings, node, pid, missing, timeout)


def _launch_nodes(settings: Settings, nodes: list[Node], missing: list[Node]) -> dict[int, int]:
    """Launch the ``missing`` nodes of cluster ``nodes`` once everything they need is
    checked (Java, ports, jars, cluster id); their pids by node id. If a launch fails, the
    nodes launched before it are stopped."""
    props = {n.node_id: node_properties(settings, n, nodes) for n in nodes}
    java = find_java()
    for node in missing:
        check_node_ports(node)
    ensure_jars(settings)
    cluster_id = cluster_id_for(settings, nodes)
    record_cluster(settings, nodes, cluster_id)
    launched: dict[int, int] = {}
    try:
        for node in missing:
            launched[node.node_id] = launch_node(
                settings, node, props[node.node_id], cluster_id, java)
    except BaseException:
        stop_nodes([n for n in missing if n.node_id in launched], DEFAULT_STOP_TIMEOUT)
        raise
    return launched


def _fail_node(settings: Settings, node: Node, pid: int, launched: list[Node],
               timeout: float) -> NoReturn:
    """Stop the nodes this start launched and the node that did not come up; raise."""
    if alive(pid):
        reason = f"did not answer on {node.bootstrap} within {timeout:.0f}s"
    else:
        reason = "exited during start-up"
    tail = log_tail(node)
    with state_lock(settings):
        stop_nodes(list({n.node_id: n for n in [*launched, node]}.values()), DEFAULT_STOP_TIMEOUT)
    raise BrokerError(f"Kafka node {node.node_id} {reason}; last log lines:{tail}")
