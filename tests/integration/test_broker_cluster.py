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
import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from streamproc import config
from streamproc.config import Settings
from streamproc.kafka import broker
from streamproc.kafka.topics import TopicSpec, ensure_topics
from streamproc.sandbox import run_cli, unique_name

BROKERS = 3
PARTITIONS = 6
PER_ROUND = 300  # messages produced before the kill, and again while the node is down


def _free_cluster_ports() -> int:
    """A client port p with p, p+2, p+4 and the controller ports p+1, p+3, p+5 all free
    (below Linux's ephemeral range, so no outgoing connection takes one meanwhile)."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 32000, 2)
        if not any(broker.port_in_use("127.0.0.1", base + i) for i in range(2 * BROKERS)):
            return base
    raise RuntimeError("no six free consecutive ports on 127.0.0.1")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Settings]]:
    """A started 3-node cluster: the environment of its clients and its settings."""
    state = tmp_path_factory.mktemp("cluster") / "state"
    state.mkdir()
    shared_jars = broker.ensure_jars(config.load(), quiet=True)
    (state / "jars").symlink_to(shared_jars, target_is_directory=True)
    port = _free_cluster_ports()
    env = dict(os.environ, STREAMPROC_STATE_DIR=str(state),
               STREAMPROC_BROKER=f"kafka://127.0.0.1:{port}",
               STREAMPROC_CONTROLLER_PORT=str(port + 1))
    settings = Settings(broker_url=env["STREAMPROC_BROKER"], controller_port=port + 1,
                        state_dir=state)
    try:
        yield env, settings
    finally:
        broker.stop(settings, timeout=30)


def _cli(env: dict[str, str], *args: str) -> str:
    return run_cli(env, "broker", *args, timeout=180).stdout


def _wait(predicate, timeout: float, what: str, step: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(step)


async def _isr(bootstrap: str, topic: str) -> dict[int, list[int]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
        return {p["partition"]: sorted(p["isr"]) for p in described["partitions"]}
    finally:
        await admin.close()


def _isr_sizes(bootstrap: str, topic: str) -> set[int]:
    try:
        isr = asyncio.run(_isr(bootstrap, topic))
    except Exception:  # noqa: BLE001 - a node just died: ask again
        return set()
    return {len(replicas) for replicas in isr.values()} if len(isr) == PARTITIONS else set()


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


@pytest.mark.timeout(300)
def test_three_node_cluster_survives_a_killed_node(cluster) -> None:
    env, settings = cluster
    started = time.monotonic()
    out = _cli(env, "start", "--brokers", str(BROKERS))
    start_s = time.monotonic() - started
    nodes = broker.recorded_cluster(settings)
    assert nodes is not None and [n.node_id for n in nodes] == [1, 2, 3]
    bootstrap = ",".join(n.bootstrap for n in nodes)
    assert f"Kafka cluster of 3 nodes running at {bootstrap}" in out
    assert f"STREAMPROC_BROKER=kafka://{bootstrap}" in out
    assert len({n.dir for n in nodes}) == 3
    assert all((n.data_dir / "meta.properties").exists() for n in nodes)
    print(f"\ncluster started in {start_s:.1f}s at {bootstrap}")

    # Each node answers; the three are the voters of the quorum and none lags behind.
    assert all(broker.wait_until_ready(n.bootstrap, 1) for n in nodes)
    quorum = _wait(lambda: (q := broker.describe_quorum(bootstrap)) and
                   all(q.lag(i) == 0 for i in (1, 2, 3)) and q, 20, "the quorum to catch up")
    assert set(quorum.voters) == {1, 2, 3} and quorum.leader_id in {1, 2, 3}
    status = _cli(env, "status")
    assert "3 nodes, 3 running, 3 answering" in status and "voters 1 2 3" in status
    assert "already running" in _cli(env, "start")  # idempotent, size from the state dir

    # A topic with replication factor 3: every partition has 3 in-sync replicas.
    topic = unique_name("rf3")
    clients = Settings(broker_url=f"kafka://{bootstrap}")
    assert clients.bootstrap == bootstrap
    asyncio.run(ensure_topics(clients.bootstrap, [TopicSpec(topic, PARTITIONS)], replication=3))
    isr = asyncio.run(_isr(bootstrap, topic))
    assert len(isr) == PARTITIONS and all(r == [1, 2, 3] for r in isr.values()), isr

    async def produce_kill_produce() -> tuple[int, float]:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                    enable_idempotence=True, request_timeout_ms=30_000)
        await producer.start()
        try:
            await _produce(producer, topic, range(PER_ROUND))
            victim = broker.describe_quorum(bootstrap).leader_id  # the active controller
            pid = broker.node_pid(settings, victim)
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            killed = time.monotonic()
            await _produce(producer, topic, range(PER_ROUND, 2 * PER_ROUND))
            return victim, time.monotonic() - killed
        finally:
            await producer.stop()

    victim, produce_s = asyncio.run(produce_kill_produce())
    print(f"killed node {victim} (the active controller); {PER_ROUND} more messages "
          f"acknowledged by all in-sync replicas {produce_s:.1f}s later")
    survivors = ",".join(n.bootstrap for n in nodes if n.node_id != victim)
    assert broker.node_pid(settings, victim) is None
    assert f"node {victim}:    stopped" in _cli(env, "status")
    _wait(lambda: _isr_sizes(survivors, topic) == {2}, 30, "the ISR to shrink to 2")
    quorum = _wait(lambda: broker.describe_quorum(survivors), 20, "a new quorum leader")
    assert quorum.leader_id != victim and set(quorum.voters) == {1, 2, 3}

    # Nothing lost, nothing twice: every message read back exactly once.
    seen = asyncio.run(_consume_all(survivors, topic, 2 * PER_ROUND))
    assert len(seen) == 2 * PER_ROUND and sorted(seen) == list(range(2 * PER_ROUND))

    restarted = time.monotonic()
    assert f"Kafka node {victim} running" in _cli(env, "start", "--node", str(victim))
    _wait(lambda: _isr_sizes(bootstrap, topic) == {3}, 60, "the node to rejoin every ISR")
    rejoin_s = time.monotonic() - restarted
    _wait(lambda: (q := broker.describe_quorum(bootstrap)) and q.lag(victim) == 0, 20,
          "the restarted node to catch up with the metadata log")
    print(f"node {victim} back in every ISR {rejoin_s:.1f}s after start --node {victim}")
    assert f"Kafka node {victim} stopped" in _cli(env, "stop", "--node", str(victim))
    assert "is not running" in _cli(env, "stop", "--node", str(victim))
    assert f"Kafka node {victim} running" in _cli(env, "start", "--node", str(victim))

    pids = [broker.node_pid(settings, n.node_id) for n in nodes]
    stopping = time.monotonic()
    assert "Kafka cluster stopped (3 nodes)" in _cli(env, "stop")
    print(f"cluster stopped in {time.monotonic() - stopping:.1f}s")
    assert all(pid is not None and not broker._alive(pid) for pid in pids)
    assert all(not n.pid_file.exists() for n in nodes)
    assert "not running" in _cli(env, "stop")
    assert "3 nodes, 0 running" in _cli(env, "status")
    assert broker.recorded_cluster(settings) == nodes  # kept for the next start
    assert Path(settings.state_dir / broker.CLUSTER_FILE).exists()
