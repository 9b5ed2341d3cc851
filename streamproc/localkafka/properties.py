"""``server.properties`` of a node: KRaft with every node both broker and controller, bound
to the loopback interface, tuned for fast tests on one machine; and the replication a
cluster of a given size can afford."""

from __future__ import annotations

from streamproc.config import Settings
from streamproc.localkafka.errors import BrokerError
from streamproc.localkafka.layout import Node, cluster_nodes, listen_host, single_node


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
