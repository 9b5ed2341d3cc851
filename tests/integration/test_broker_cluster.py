"""`streamproc broker start --brokers 3` on a private 3-node KRaft cluster (own state dir and
free ports, shared cached jars; never the shared broker on 9092).

One scenario, in steps: the three nodes form the controller quorum; a topic created with
replication factor 3 has three in-sync replicas; messages produced with ``acks=all`` are all
read back exactly once after one node (the active controller) is killed with SIGKILL and more
messages are produced while it is down; the node comes back with ``start --node`` and rejoins
every in-sync replica set; ``stop`` stops all three and is idempotent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from streamproc import localkafka as broker
from streamproc.config import Settings
from streamproc.kafka.topics import TopicSpec, ensure_topics
from streamproc.sandbox import unique_name, wait_for
from tests.support.broker_fixture import PrivateCluster, private_cluster

BROKERS = 3
PARTITIONS = 6
PER_ROUND = 300  # messages produced before the kill, and again while the node is down


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateCluster]:
    """A started 3-node cluster of its own (stopped after the module)."""
    with private_cluster(tmp_path_factory.mktemp("cluster"), BROKERS) as started:
        yield started


async def _isr(bootstrap: str, topic: str) -> dict[int, list[int]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
        return {p["partition"]: sorted(p["isr"]) for p in described["partitions"]}
    finally:
        await admin.close()


def _isr_or_empty(bootstrap: str, topic: str) -> dict[int, list[int]]:
    """The topic's ISR per partition once every partition is described, else {} (a node
    just died, or does not know the topic yet: ask again)."""
    try:
        isr = asyncio.run(_isr(bootstrap, topic))
    except Exception:  # noqa: BLE001 - see above
        return {}
    return isr if len(isr) == PARTITIONS else {}


def _isr_sizes(bootstrap: str, topic: str) -> set[int]:
    return {len(replicas) for replicas in _isr_or_empty(bootstrap, topic).values()}


async def _produce(producer: AIOKafkaProducer, topic: str, values: range) -> None:
    futures = [
        await producer.send(topic, str(v).encode(), key=f"k{v % 50}".encode()) for v in values
    ]
    await asyncio.wait_for(asyncio.gather(*futures), 90)


async def _consume_all(bootstrap: str, topic: str, expected: int) -> list[int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        seen: list[int] = []
        deadline = time.monotonic() + 60
        quiet_until = None
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            seen += [int(m.value) for records in batch.values() for m in records]
            if len(seen) >= expected:  # read a little longer: duplicates would show up
                quiet_until = quiet_until or time.monotonic() + 2
                if time.monotonic() >= quiet_until:
                    break
        return seen
    finally:
        await consumer.stop()


def _check_started(cluster: PrivateCluster) -> list[broker.Node]:
    """The start's output and files; every node answers, the three are the voters of the
    quorum and none lags behind; status; start again is idempotent. The nodes."""
    nodes = cluster.nodes
    assert [n.node_id for n in nodes] == [1, 2, 3]
    bootstrap = ",".join(n.bootstrap for n in nodes)
    assert cluster.bootstrap == bootstrap
    out = cluster.start_output
    assert f"Kafka cluster of 3 nodes running at {bootstrap}" in out
    assert f"STREAMPROC_BROKER=kafka://{bootstrap}" in out
    assert len({n.dir for n in nodes}) == 3
    assert all((n.data_dir / "meta.properties").exists() for n in nodes)
    print(f"\ncluster started in {cluster.start_seconds:.1f}s at {bootstrap}")

    assert all(broker.wait_until_ready(n.bootstrap, 1) for n in nodes)
    quorum = wait_for(lambda: (q := broker.describe_quorum(bootstrap)) and
                      all(q.lag(i) == 0 for i in (1, 2, 3)) and q, 20,
                      "the quorum to catch up", every=0.5)
    assert set(quorum.voters) == {1, 2, 3} and quorum.leader_id in {1, 2, 3}
    status = cluster.cli("status")
    assert "3 nodes, 3 running, 3 answering" in status and "voters 1 2 3" in status
    assert "already running" in cluster.cli("start")  # idempotent, size from the state dir
    return nodes


def _rf3_topic(bootstrap: str) -> str:
    """A new topic with replication factor 3: every partition has 3 in-sync replicas."""
    topic = unique_name("rf3")
    clients = Settings(broker_url=f"kafka://{bootstrap}")
    assert clients.bootstrap == bootstrap
    asyncio.run(ensure_topics(clients.bootstrap, [TopicSpec(topic, PARTITIONS)], replication=3))
    # The controller has created the topic; the node the admin client asks learns of it
    # from the metadata log a moment later (an empty answer until then), so ask again.
    isr = wait_for(lambda: _isr_or_empty(bootstrap, topic), 20,
                   f"{topic} to be known to every node", every=0.3)
    assert len(isr) == PARTITIONS and all(r == [1, 2, 3] for r in isr.values()), isr
    return topic


async def _produce_kill_produce(cluster: PrivateCluster, topic: str) -> tuple[int, float]:
    """PER_ROUND messages, SIGKILL of the active controller, PER_ROUND more (acks=all): the
    node killed and the seconds until the second round was acknowledged."""
    producer = AIOKafkaProducer(bootstrap_servers=cluster.bootstrap, acks="all",
                                enable_idempotence=True, request_timeout_ms=30_000)
    await producer.start()
    try:
        await _produce(producer, topic, range(PER_ROUND))
        victim = broker.describe_quorum(cluster.bootstrap).leader_id  # the active controller
        cluster.kill_node(victim)
        killed = time.monotonic()
        await _produce(producer, topic, range(PER_ROUND, 2 * PER_ROUND))
        return victim, time.monotonic() - killed
    finally:
        await producer.stop()


def _check_one_down(cluster: PrivateCluster, victim: int, topic: str) -> None:
    """With the node down: status, ISR of 2, a new quorum leader, and every message read
    back exactly once from the survivors."""
    survivors = ",".join(n.bootstrap for n in cluster.nodes if n.node_id != victim)
    assert broker.node_pid(cluster.settings, victim) is None
    assert f"node {victim}:    stopped" in cluster.cli("status")
    wait_for(lambda: _isr_sizes(survivors, topic) == {2}, 30, "the ISR to shrink to 2",
             every=0.5)
    quorum = wait_for(lambda: broker.describe_quorum(survivors), 20, "a new quorum leader",
                      every=0.5)
    assert quorum.leader_id != victim and set(quorum.voters) == {1, 2, 3}

    # Nothing lost, nothing twice: every message read back exactly once.
    seen = asyncio.run(_consume_all(survivors, topic, 2 * PER_ROUND))
    assert len(seen) == 2 * PER_ROUND and sorted(seen) == list(range(2 * PER_ROUND))


def _restart_node(cluster: PrivateCluster, victim: int, topic: str) -> None:
    """``start --node``: the node rejoins every ISR and catches up with the metadata log;
    ``stop --node`` (twice: idempotent) and ``start --node`` again."""
    restarted = time.monotonic()
    assert f"Kafka node {victim} running" in cluster.cli("start", "--node", str(victim))
    wait_for(lambda: _isr_sizes(cluster.bootstrap, topic) == {3}, 60,
             "the node to rejoin every ISR", every=0.5)
    rejoin_s = time.monotonic() - restarted
    wait_for(lambda: (q := broker.describe_quorum(cluster.bootstrap)) and q.lag(victim) == 0,
             20, "the restarted node to catch up with the metadata log", every=0.5)
    print(f"node {victim} back in every ISR {rejoin_s:.1f}s after start --node {victim}")
    assert f"Kafka node {victim} stopped" in cluster.cli("stop", "--node", str(victim))
    assert "is not running" in cluster.cli("stop", "--node", str(victim))
    assert f"Kafka node {victim} running" in cluster.cli("start", "--node", str(victim))


def _stop_all(cluster: PrivateCluster, nodes: list[broker.Node]) -> None:
    """``stop`` stops every node (pid files gone), is idempotent, and keeps the record of
    the cluster for the next start."""
    settings = cluster.settings
    pids = [broker.node_pid(settings, n.node_id) for n in nodes]
    stopping = time.monotonic()
    assert "Kafka cluster stopped (3 nodes)" in cluster.cli("stop")
    print(f"cluster stopped in {time.monotonic() - stopping:.1f}s")
    assert all(pid is not None and not broker.alive(pid) for pid in pids)
    assert all(not n.pid_file.exists() for n in nodes)
    assert "not running" in cluster.cli("stop")
    assert "3 nodes, 0 running" in cluster.cli("status")
    assert broker.recorded_cluster(settings) == nodes  # kept for the next start
    assert Path(settings.state_dir / broker.CLUSTER_FILE).exists()


@pytest.mark.timeout(300)
def test_three_node_cluster_survives_a_killed_node(cluster: PrivateCluster) -> None:
    nodes = _check_started(cluster)
    topic = _rf3_topic(cluster.bootstrap)
    victim, produce_s = asyncio.run(_produce_kill_produce(cluster, topic))
    print(f"killed node {victim} (the active controller); {PER_ROUND} more messages "
          f"acknowledged by all in-sync replicas {produce_s:.1f}s later")
    _check_one_down(cluster, victim, topic)
    _restart_node(cluster, victim, topic)
    _stop_all(cluster, nodes)
