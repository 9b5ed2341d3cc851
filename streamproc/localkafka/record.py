"""What a state dir remembers between starts: the cluster last started there
(``kafka-cluster.json``) and the cluster id each node's storage was formatted with.

Storage formatted for one cluster id can never join another id's quorum, so the id is
taken from what is on disk before a new one is made.
"""

from __future__ import annotations

import base64
import contextlib
import json
import uuid
from pathlib import Path

from streamproc.config import Settings
from streamproc.localkafka.errors import BrokerError
from streamproc.localkafka.layout import Node, cluster_file


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding (22 chars).

    Never one starting with ``-`` (1 in 64 would): ``kafka-storage format --cluster-id -x..``
    takes it for an option and fails, as Kafka's own ``Uuid.randomUuid`` also avoids."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode("ascii")
        if not cid.startswith("-"):
            return cid


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


def record_cluster(settings: Settings, nodes: list[Node], cluster_id: str) -> None:
    """Write ``kafka-cluster.json`` (atomically: a reader never sees half a record)."""
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


def _formatted_cluster_id(node: Node) -> str | None:
    """The cluster id a node's storage was formatted with (its meta.properties)."""
    with contextlib.suppress(OSError):
        for line in node.meta_file.read_text().splitlines():
            if line.startswith("cluster.id="):
                return line.split("=", 1)[1].strip()
    return None


def cluster_id_for(settings: Settings, nodes: list[Node]) -> str:
    """The id the nodes' storage was formatted with, else the recorded one, else a new one.
    Storage of two clusters is refused (that node could never join the quorum)."""
    found = {n.node_id: cid for n in nodes if (cid := _formatted_cluster_id(n))}
    if len(set(found.values())) > 1:
        ids = ", ".join(f"node {i}: {cid}" for i, cid in sorted(found.items()))
        raise BrokerError(
            f"the nodes' storage belongs to different clusters ({ids}); delete the data/ "
            "dir of the odd one out (it copies the rest from the others when it starts)"
        )
    if found:
        return next(iter(found.values()))
    return _recorded_cluster_id(settings) or new_cluster_id()


def single_cluster_id(settings: Settings) -> str:
    """The single broker's cluster id, made once and kept in ``<broker dir>/cluster.id``."""
    id_file = settings.broker_dir / "cluster.id"
    if not id_file.exists():
        id_file.write_text(new_cluster_id() + "\n")
    return id_file.read_text().strip()
