"""`streamproc broker start|stop|status`: a real Apache Kafka broker, or a cluster of them,
on this machine, for development, tests and the benchmark. The worker never imports this
package: at run time it only needs a broker's address.

The broker is Apache Kafka in KRaft mode, bound to 127.0.0.1 only. Its jars (the version
``broker/pom.xml`` names) are resolved once from Maven Central with ``mvn`` and cached in
``Settings.jars_dir``.

One node (the default): one JVM that is both broker and controller (node id 1); its
configuration, data, logs and pid file live in ``Settings.broker_dir``::

    .streamproc/jars/                 Kafka jars (+ .complete marker holding the pom hash)
    .streamproc/kafka/server.properties
    .streamproc/kafka/cluster.id      generated once, used to format the storage
    .streamproc/kafka/data/           log.dirs (topics and the KRaft metadata log)
    .streamproc/kafka/logs/           server.log (log4j2, WARN) and stdout.log (JVM output)
    .streamproc/kafka/broker.pid

A cluster (``brokers=3``): one JVM per node, each broker and controller (a static controller
quorum of all of them), client and controller ports stepping by ``layout.PORT_STEP`` from
the configured ones, replication as :func:`replication_of` says::

    .streamproc/kafka-cluster.json    size, cluster id and ports of the cluster (kept)
    .streamproc/kafka-<id>/           server.properties, data/, logs/, broker.pid per node

Modules: ``layout`` (a node's ports, directory and files), ``properties`` (its
server.properties), ``jars`` (fetching and locating the jars), ``process`` (OS processes,
whatever they run), ``jvm`` (one node's JVM: commands, launch, pid, stop), ``protocol`` (the
hand-written Kafka wire client), ``record`` (what a state dir remembers between starts),
``cluster`` (starting and stopping either mode), ``statuses`` (what runs and answers). All
failures raise :class:`BrokerError` with a one-line message.
"""

from streamproc.localkafka.cluster import (
    node_pid,
    running_cluster,
    start,
    start_cluster,
    start_node,
    stop,
    stop_node,
)
from streamproc.localkafka.errors import BrokerError
from streamproc.localkafka.jars import ensure_jars, maven_command, pom_hash
from streamproc.localkafka.jvm import format_command, is_running, java_command, running_pid
from streamproc.localkafka.layout import (
    CLUSTER_FILE,
    MAX_BROKERS,
    Node,
    cluster_nodes,
    log4j_path,
    pom_path,
    single_node,
)
from streamproc.localkafka.process import (
    DEFAULT_STOP_TIMEOUT,
    alive,
    find_java,
    free_cluster_port,
    port_in_use,
)
from streamproc.localkafka.properties import (
    client_env,
    cluster_properties,
    render_properties,
    replication_of,
    server_properties,
)
from streamproc.localkafka.protocol import (
    DEFAULT_START_TIMEOUT,
    Quorum,
    describe_quorum,
    describe_quorum_request,
    parse_describe_quorum,
    wait_until_ready,
)
from streamproc.localkafka.record import new_cluster_id, recorded_cluster
from streamproc.localkafka.statuses import (
    BrokerStatus,
    ClusterStatus,
    NodeStatus,
    cluster_status,
    status,
)

__all__ = [
    "CLUSTER_FILE",
    "DEFAULT_START_TIMEOUT",
    "DEFAULT_STOP_TIMEOUT",
    "MAX_BROKERS",
    "BrokerError",
    "BrokerStatus",
    "ClusterStatus",
    "Node",
    "NodeStatus",
    "Quorum",
    "alive",
    "client_env",
    "cluster_nodes",
    "cluster_properties",
    "cluster_status",
    "describe_quorum",
    "describe_quorum_request",
    "ensure_jars",
    "find_java",
    "format_command",
    "is_running",
    "java_command",
    "log4j_path",
    "maven_command",
    "new_cluster_id",
    "node_pid",
    "parse_describe_quorum",
    "pom_hash",
    "pom_path",
    "free_cluster_port",
    "port_in_use",
    "recorded_cluster",
    "render_properties",
    "replication_of",
    "running_cluster",
    "running_pid",
    "server_properties",
    "single_node",
    "start",
    "start_cluster",
    "start_node",
    "status",
    "stop",
    "stop_node",
    "wait_until_ready",
]
