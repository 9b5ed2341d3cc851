"""Where a local Kafka node lives: its host and ports, its directory and the files in it.

The single broker (the default) is node 1 in ``Settings.broker_dir``; node ``i`` of a
cluster lives in ``<state dir>/kafka-<i>``. Every node binds the loopback interface only: it
is a developer's broker, not a service.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from streamproc import config
from streamproc.config import Settings
from streamproc.localkafka.errors import BrokerError

LOOPBACK = "127.0.0.1"
LOCAL_HOSTS = frozenset({LOOPBACK, "localhost"})
MAX_BROKERS = 9
PORT_STEP = 2  # node i's ports are node 1's plus PORT_STEP * (i - 1)
CLUSTER_FILE = "kafka-cluster.json"


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
    def meta_file(self) -> Path:
        """Written by ``kafka-storage format``: it exists once the storage is formatted."""
        return self.data_dir / "meta.properties"

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


def _broker_source_dir() -> Path:
    """``broker/`` of the checkout: pom.xml and the log4j2 configuration."""
    return config._project_root() / "broker"


def pom_path() -> Path:
    """The Maven project naming the Kafka jars (change the Kafka version there)."""
    return _broker_source_dir() / "pom.xml"


def log4j_path() -> Path:
    """The logging configuration every node shares."""
    return _broker_source_dir() / "log4j2.properties"


def cluster_file(settings: Settings) -> Path:
    """The record of the cluster last started in this state dir (kept when it stops)."""
    return settings.state_dir / CLUSTER_FILE


def _host_of(server: str) -> str:
    return server.rsplit(":", 1)[0].strip("[]")


def listen_host(settings: Settings) -> str:
    """The address to bind: the broker URL's hosts, which must be the loopback interface."""
    for server in settings.bootstrap_servers:
        if _host_of(server) not in LOCAL_HOSTS:
            raise BrokerError(
                f"STREAMPROC_BROKER={settings.broker_url} is not local; the managed broker "
                "only runs on 127.0.0.1 (use kafka://127.0.0.1:<port>)"
            )
    return LOOPBACK


def single_node(settings: Settings) -> Node:
    """The one node of the default mode: node id 1 in ``Settings.broker_dir``, at the host
    the broker URL names (127.0.0.1 or localhost; it binds 127.0.0.1)."""
    host = _host_of(settings.bootstrap_servers[0])
    return Node(1, settings.broker_port, settings.controller_port, settings.broker_dir, host)


def cluster_nodes(settings: Settings, brokers: int) -> list[Node]:
    """The nodes of a ``brokers``-node cluster for these settings (1: :func:`single_node`).

    Client ports: the ones ``STREAMPROC_BROKER`` lists when it lists ``brokers`` of them,
    else steps of :data:`PORT_STEP` from its (first) port; controller ports the same steps
    from ``controller_port``. Every port must be distinct.
    """
    if not 1 <= brokers <= MAX_BROKERS:
        raise BrokerError(f"--brokers must be between 1 and {MAX_BROKERS}, not {brokers}")
    host = listen_host(settings)
    if brokers == 1:
        return [single_node(settings)]
    ports = _client_ports(settings, brokers)
    controllers = [settings.controller_port + PORT_STEP * i for i in range(brokers)]
    _check_distinct(ports, controllers)
    return [
        Node(i + 1, ports[i], controllers[i], settings.state_dir / f"kafka-{i + 1}", host)
        for i in range(brokers)
    ]


def _client_ports(settings: Settings, brokers: int) -> list[int]:
    listed = [int(s.rsplit(":", 1)[1]) for s in settings.bootstrap_servers]
    if len(listed) == brokers:
        return listed
    if len(listed) == 1:
        return [listed[0] + PORT_STEP * i for i in range(brokers)]
    raise BrokerError(
        f"STREAMPROC_BROKER lists {len(listed)} brokers but the cluster has {brokers}; "
        f"list one (the first port) or all {brokers}"
    )


def _check_distinct(ports: list[int], controllers: list[int]) -> None:
    everything = ports + controllers
    if len(set(everything)) != len(everything) or not all(0 < p < 65536 for p in everything):
        raise BrokerError(
            f"the cluster's ports overlap or are out of range (clients {ports}, controllers "
            f"{controllers}); choose STREAMPROC_BROKER and STREAMPROC_CONTROLLER_PORT apart"
        )
