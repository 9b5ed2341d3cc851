"""streamproc.localkafka without a running broker: config rendering, commands, clear errors."""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from streamproc import config
from streamproc import localkafka as broker
from streamproc.cli import broker as broker_cli
from streamproc.config import Settings
from streamproc.localkafka import cluster, record
from streamproc.sandbox import free_port


def _settings(tmp_path: Path, port: int = 19092, controller: int = 19093) -> Settings:
    return Settings(
        broker_url=f"kafka://127.0.0.1:{port}",
        controller_port=controller,
        state_dir=tmp_path / "state",
    )


def _parse(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key] = value
    return out


def test_server_properties_single_node_kraft_on_loopback(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    props = _parse(broker.render_properties(broker.server_properties(s)))
    assert props["process.roles"] == "broker,controller"
    assert props["node.id"] == "1"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.listener.names"] == "CONTROLLER"
    assert props["log.dirs"] == str(tmp_path / "state" / "kafka" / "data")
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "min.insync.replicas",
    ):
        assert props[key] == "1"
    assert props["num.partitions"] == "8"
    assert props["auto.create.topics.enable"] == "true"
    assert props["group.initial.rebalance.delay.ms"] == "0"


def test_localhost_is_bound_as_127_0_0_1(tmp_path: Path) -> None:
    s = Settings(broker_url="kafka://localhost:9092", state_dir=tmp_path)
    assert broker.server_properties(s)["listeners"].startswith("PLAINTEXT://127.0.0.1:9092,")


def test_remote_broker_url_is_refused(tmp_path: Path) -> None:
    s = Settings(broker_url="kafka://kafka:9092", state_dir=tmp_path)
    with pytest.raises(broker.BrokerError, match="not local"):
        broker.server_properties(s)


def test_same_broker_and_controller_port_is_refused(tmp_path: Path) -> None:
    with pytest.raises(broker.BrokerError, match="both 9092"):
        broker.server_properties(_settings(tmp_path, 9092, 9092))


def test_java_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_HEAP_OPTS", raising=False)
    s = _settings(tmp_path)
    cmd = broker.java_command(s, "/usr/bin/java")
    assert cmd[0] == "/usr/bin/java"
    assert "-Xmx1g" in cmd
    assert cmd[-3:] == [
        str(s.jars_dir / "*"),
        "kafka.Kafka",
        str(s.broker_dir / "server.properties"),
    ]
    assert f"-Dkafka.logs.dir={s.broker_dir / 'logs'}" in cmd
    assert f"-Dstreamproc.broker.dir={s.broker_dir}" in cmd
    assert any(a.startswith("-Dlog4j2.configurationFile=") for a in cmd)


def test_heap_can_be_overridden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_HEAP_OPTS", "-Xmx2g -Xms1g")
    cmd = broker.java_command(_settings(tmp_path))
    assert "-Xmx2g" in cmd and "-Xmx1g" not in cmd


def test_format_and_maven_commands(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    fmt = broker.format_command(s, "abc")
    assert fmt[fmt.index("kafka.tools.StorageTool") + 1] == "format"
    assert fmt[fmt.index("--cluster-id") + 1] == "abc"
    assert "--ignore-formatted" in fmt
    mvn = broker.maven_command(Path("broker/pom.xml"), tmp_path / "jars")
    assert "dependency:copy-dependencies" in mvn
    assert f"-DoutputDirectory={tmp_path / 'jars'}" in mvn


def test_cluster_id_shape() -> None:
    ids = {broker.new_cluster_id() for _ in range(20)}
    assert len(ids) == 20
    assert all(len(i) == 22 and "=" not in i for i in ids)


def test_pom_and_log_config_ship_with_the_repo() -> None:
    pom = broker.pom_path().read_text()
    assert "<artifactId>kafka_2.13</artifactId>" in pom
    assert "<kafka.version>4.1." in pom
    assert "rootLogger.level = WARN" in broker.log4j_path().read_text()


@pytest.fixture
def busy_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_taken_port_fails_clearly_without_launching(
    tmp_path: Path, busy_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = _settings(tmp_path, port=busy_port, controller=free_port())
    assert broker.port_in_use("127.0.0.1", busy_port)
    launched = []
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: launched.append(a))
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: launched.append(a))
    with pytest.raises(broker.BrokerError, match=rf"port {busy_port} .*already in use"):
        broker.start(s, timeout=5)
    assert launched == []
    assert not broker.single_node(s).pid_file.exists()


def test_cli_reports_taken_port_in_one_line(
    tmp_path: Path, busy_port: int, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("STREAMPROC_BROKER", f"kafka://127.0.0.1:{busy_port}")
    monkeypatch.setenv("STREAMPROC_CONTROLLER_PORT", str(free_port()))
    monkeypatch.setenv("STREAMPROC_STATE_DIR", str(tmp_path / "state"))
    rc = broker_cli.run(argparse.Namespace(action="start", timeout=5.0))
    err = capsys.readouterr().err
    assert rc == 1
    assert err.count("\n") == 1
    assert f"port {busy_port}" in err and "Traceback" not in err


def test_missing_java_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(broker.BrokerError, match="Java is not installed"):
        broker.find_java()


def test_missing_maven_only_matters_without_cached_jars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = _settings(tmp_path)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(broker.BrokerError, match="Maven"):
        broker.ensure_jars(s)
    s.jars_dir.mkdir(parents=True)
    (s.jars_dir / ".complete").write_text(broker.pom_hash() + "\n")
    assert broker.ensure_jars(s) == s.jars_dir


def test_stop_and_status_when_never_started(tmp_path: Path) -> None:
    s = _settings(tmp_path, port=free_port(), controller=free_port())
    assert broker.stop(s) is False
    st = broker.status(s)
    assert not st.running and st.pid is None and not st.ready
    assert "stopped" in st.describe()
    assert not broker.is_running(s)


def test_stale_pid_file_is_not_running(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    s.broker_dir.mkdir(parents=True)
    # Our own pid is alive but is not a Kafka broker: must not be mistaken for one.
    broker.single_node(s).pid_file.write_text(f"{os.getpid()}\n")
    assert not broker.is_running(s)
    assert broker.stop(s) is False
    assert not broker.single_node(s).pid_file.exists()


def test_wait_until_ready_times_out_on_closed_port() -> None:
    assert broker.wait_until_ready(f"127.0.0.1:{free_port()}", timeout=0.5) is False


# --------------------------------------------------------------------------- cluster


def test_cluster_nodes_ports_and_dirs_follow_the_configured_ports(tmp_path: Path) -> None:
    s = Settings(state_dir=tmp_path / "state")
    nodes = broker.cluster_nodes(s, 3)
    assert [(n.node_id, n.port, n.controller_port) for n in nodes] == [
        (1, 9092, 9093), (2, 9094, 9095), (3, 9096, 9097)]
    assert [n.dir for n in nodes] == [tmp_path / "state" / f"kafka-{i}" for i in (1, 2, 3)]
    assert [n.bootstrap for n in nodes] == ["127.0.0.1:9092", "127.0.0.1:9094", "127.0.0.1:9096"]
    assert nodes[1].pid_file == tmp_path / "state" / "kafka-2" / "broker.pid"
    assert nodes[1].data_dir == tmp_path / "state" / "kafka-2" / "data"
    derived = broker.cluster_nodes(_settings(tmp_path), 3)
    assert [(n.port, n.controller_port) for n in derived] == [
        (19092, 19093), (19094, 19095), (19096, 19097)]


def test_one_broker_is_the_single_node_layout(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    [node] = broker.cluster_nodes(s, 1)
    assert node == broker.single_node(s)
    assert (node.dir, node.pid_file) == (s.broker_dir, broker.single_node(s).pid_file)
    assert broker.cluster_properties(s, 1) == {1: broker.server_properties(s)}


def test_cluster_properties_of_three_nodes(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    props = {
        i: _parse(broker.render_properties(p))
        for i, p in broker.cluster_properties(s, 3).items()
    }
    assert sorted(props) == [1, 2, 3]
    voters = "1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097"
    for i, port, cport in ((1, 19092, 19093), (2, 19094, 19095), (3, 19096, 19097)):
        p = props[i]
        assert p["node.id"] == str(i)
        assert p["process.roles"] == "broker,controller"
        assert p["controller.quorum.voters"] == voters
        assert p["listeners"] == f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{cport}"
        assert p["advertised.listeners"] == f"PLAINTEXT://127.0.0.1:{port}"
        assert p["log.dirs"] == str(tmp_path / "state" / f"kafka-{i}" / "data")
        assert p["default.replication.factor"] == "3"
        assert p["min.insync.replicas"] == "2"
        assert p["offsets.topic.replication.factor"] == "3"
        assert p["transaction.state.log.replication.factor"] == "3"
        assert p["transaction.state.log.min.isr"] == "2"
        assert p["share.coordinator.state.topic.replication.factor"] == "3"
        assert p["num.partitions"] == "8"
    # Apart from what makes a node itself, the three configurations are the same.
    own = {"node.id", "listeners", "advertised.listeners", "log.dirs"}
    assert len({tuple(sorted((k, v) for k, v in p.items() if k not in own))
                for p in props.values()}) == 1


def test_replication_by_cluster_size() -> None:
    assert [broker.replication_of(n) for n in (1, 2, 3, 5)] == [(1, 1), (2, 1), (3, 2), (3, 2)]


def test_a_broker_url_listing_every_node_gives_their_ports(tmp_path: Path) -> None:
    s = Settings(broker_url="kafka://127.0.0.1:9200,127.0.0.1:9300,localhost:9400",
                 controller_port=9500, state_dir=tmp_path)
    assert [n.port for n in broker.cluster_nodes(s, 3)] == [9200, 9300, 9400]
    assert [n.controller_port for n in broker.cluster_nodes(s, 3)] == [9500, 9502, 9504]
    with pytest.raises(broker.BrokerError, match="lists 3 brokers but the cluster has 2"):
        broker.cluster_nodes(s, 2)


def test_cluster_ports_must_not_overlap_and_size_is_bounded(tmp_path: Path) -> None:
    with pytest.raises(broker.BrokerError, match="overlap"):
        broker.cluster_nodes(_settings(tmp_path, 19092, 19094), 3)
    for bad in (0, broker.MAX_BROKERS + 1):
        with pytest.raises(broker.BrokerError, match="between 1 and"):
            broker.cluster_nodes(_settings(tmp_path), bad)
    with pytest.raises(broker.BrokerError, match="not local"):
        broker.cluster_nodes(Settings(broker_url="kafka://127.0.0.1:1,kafka:2"), 2)


def test_node_commands_use_the_node_dir(tmp_path: Path) -> None:
    s = _settings(tmp_path)
    node = broker.cluster_nodes(s, 3)[1]
    cmd = broker.java_command(s, "/usr/bin/java", node)
    assert cmd[-2:] == ["kafka.Kafka", str(tmp_path / "state" / "kafka-2" / "server.properties")]
    assert f"-Dstreamproc.broker.dir={node.dir}" in cmd
    assert f"-Dkafka.logs.dir={node.dir / 'logs'}" in cmd
    assert str(s.jars_dir / "*") in cmd  # one shared jars dir
    fmt = broker.format_command(s, "shared-id", "/usr/bin/java", node)
    assert fmt[fmt.index("--cluster-id") + 1] == "shared-id"
    assert fmt[fmt.index("--config") + 1] == str(node.properties_file)


def test_broker_url_of_several_brokers_for_faust_and_aiokafka() -> None:
    from faust.transport.drivers.aiokafka import server_list
    from faust.utils.urls import urllist

    servers = ["127.0.0.1:9092", "127.0.0.1:9094", "127.0.0.1:9096"]
    for url in ("kafka://127.0.0.1:9092,127.0.0.1:9094,127.0.0.1:9096",
                "kafka://127.0.0.1:9092;kafka://127.0.0.1:9094;kafka://127.0.0.1:9096",
                " kafka://127.0.0.1:9092 , 127.0.0.1:9094;127.0.0.1:9096 "):
        s = Settings(broker_url=url)
        assert s.bootstrap_servers == servers
        assert s.bootstrap == ",".join(servers)  # aiokafka's bootstrap_servers
        assert s.broker_url == ";".join(f"kafka://{x}" for x in servers)  # Faust's broker
        assert server_list(urllist(s.broker_url, default_scheme="kafka"), 9092) == servers
        assert s.broker_port == 9092
    single = Settings()
    assert (single.broker_url, single.bootstrap, single.broker_port) == (
        "kafka://127.0.0.1:9092", "127.0.0.1:9092", 9092)
    assert Settings(broker_url="kafka://127.0.0.1").bootstrap == "127.0.0.1:9092"


def test_describe_quorum_wire_format() -> None:
    request = broker.describe_quorum_request(7)
    assert request[:8] == bytes.fromhex("0037 0000 00000007".replace(" ", ""))
    assert b"__cluster_metadata" in request
    body = bytearray()
    body += (7).to_bytes(4, "big") + b"\0"  # correlation id, header tags
    body += (0).to_bytes(2, "big")  # error
    body += b"\x02" + bytes([len(b"__cluster_metadata") + 1]) + b"__cluster_metadata"
    body += b"\x02" + (0).to_bytes(4, "big") + (0).to_bytes(2, "big")  # partition 0, no error
    body += (2).to_bytes(4, "big") + (5).to_bytes(4, "big") + (100).to_bytes(8, "big")
    body += b"\x04"  # three voters
    for node, offset in ((1, 100), (2, 97), (3, 100)):
        body += node.to_bytes(4, "big") + offset.to_bytes(8, "big") + b"\0"
    body += b"\x01" + b"\0" + b"\0" + b"\0"  # no observers; partition, topic, body tags
    quorum = broker.parse_describe_quorum(bytes(body), 7)
    assert (quorum.leader_id, quorum.leader_epoch, quorum.high_watermark) == (2, 5, 100)
    assert quorum.voters == {1: 100, 2: 97, 3: 100} and quorum.observers == {}
    assert [quorum.lag(i) for i in (1, 2, 3, 4)] == [0, 3, 0, None]
    assert quorum.describe() == "leader 2 (epoch 5), voters 1 2 3, metadata lag 0 3 0"
    with pytest.raises(ValueError):
        broker.parse_describe_quorum(bytes(body[:30]), 7)
    assert broker.describe_quorum(f"127.0.0.1:{free_port()}", timeout=0.5) is None


def _cli_args(action: str, **extra) -> argparse.Namespace:
    values = {"brokers": None, "node": None, "kill": False, "timeout": 5.0, **extra}
    return argparse.Namespace(action=action, **values)


def test_cluster_with_a_taken_port_fails_without_launching(
    tmp_path: Path, busy_port: int, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    # Node 2's client port is taken: nothing starts, not even node 1.
    monkeypatch.setenv("STREAMPROC_BROKER", f"kafka://127.0.0.1:{busy_port - 2}")
    monkeypatch.setenv("STREAMPROC_CONTROLLER_PORT", str(free_port()))
    monkeypatch.setenv("STREAMPROC_STATE_DIR", str(tmp_path / "state"))
    s = config.load()
    s.jars_dir.mkdir(parents=True)
    (s.jars_dir / ".complete").write_text(broker.pom_hash() + "\n")
    launched = []
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: launched.append(a))
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: launched.append(a))
    rc = broker_cli.run(_cli_args("start", brokers=3))
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1
    assert f"port {busy_port} on 127.0.0.1 (node 2 client) is already in use" in err
    assert launched == []
    assert not any(n.pid_file.exists() for n in broker.cluster_nodes(s, 3))


def test_cluster_commands_before_any_cluster(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("STREAMPROC_BROKER", f"kafka://127.0.0.1:{free_port()}")
    monkeypatch.setenv("STREAMPROC_CONTROLLER_PORT", str(free_port()))
    monkeypatch.setenv("STREAMPROC_STATE_DIR", str(tmp_path / "state"))
    s = config.load()
    assert broker.recorded_cluster(s) is None and broker.running_cluster(s) is None
    assert broker_cli.run(_cli_args("start", node=2)) == 1
    assert "no cluster was started" in capsys.readouterr().err
    assert broker_cli.run(_cli_args("stop", node=2)) == 1
    assert broker_cli.run(_cli_args("stop", kill=True)) == 1
    assert "--kill goes with stop --node" in capsys.readouterr().err.splitlines()[-1]
    assert broker_cli.run(_cli_args("start", brokers=0)) == 1
    assert "between 1 and" in capsys.readouterr().err
    assert broker_cli.run(_cli_args("stop", brokers=3)) == 0
    assert "not running" in capsys.readouterr().out
    assert broker_cli.run(_cli_args("status", brokers=3)) == 0
    out = capsys.readouterr().out
    assert "3 nodes, 0 running, 0 answering" in out and "node 3:    stopped" in out
    assert broker_cli.run(_cli_args("status")) == 0  # nothing recorded: the single broker
    assert capsys.readouterr().out.startswith("broker:    stopped")
    assert broker.stop(s) is False


def test_recorded_cluster_drives_node_commands_and_refusals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = _settings(tmp_path, port=free_port(), controller=free_port())
    nodes = broker.cluster_nodes(s, 3)
    s.state_dir.mkdir(parents=True)
    record.record_cluster(s, nodes, "cid")
    assert broker.recorded_cluster(s) == nodes
    assert record.cluster_id_for(s, nodes) == "cid"
    assert broker.node_pid(s, 2) is None and broker.stop_node(s, 2) is False
    with pytest.raises(broker.BrokerError, match="nodes 1, 2, 3, not 4"):
        broker.node_pid(s, 4)
    # A node whose storage is formatted wins over the record (it cannot change any more).
    nodes[2].data_dir.mkdir(parents=True)
    (nodes[2].data_dir / "meta.properties").write_text("cluster.id=formatted\nnode.id=3\n")
    assert record.cluster_id_for(s, nodes) == "formatted"
    nodes[0].data_dir.mkdir(parents=True)
    (nodes[0].data_dir / "meta.properties").write_text("cluster.id=other\nnode.id=1\n")
    with pytest.raises(broker.BrokerError, match="node 1: other, node 3: formatted"):
        record.cluster_id_for(s, nodes)
    (nodes[0].data_dir / "meta.properties").unlink()
    # Another size on formatted storage is refused; the running single broker blocks a cluster.
    with pytest.raises(broker.BrokerError, match="has 3 nodes; start it with --brokers 3"):
        broker.start_cluster(s, 5, timeout=1)
    monkeypatch.setattr(cluster, "running_pid", lambda settings: 4242)
    with pytest.raises(broker.BrokerError, match="single-node broker is running"):
        broker.start_cluster(s, 3, timeout=1)
    # ... and a running cluster blocks the single broker.
    monkeypatch.setattr(cluster, "pid_of", lambda node: 4243 if node.node_id == 2 else None)
    with pytest.raises(broker.BrokerError, match="3-node cluster is running"):
        broker.start(s, timeout=1)


def test_cluster_ids_never_start_with_a_dash(monkeypatch) -> None:
    """kafka-storage would read ``--cluster-id -abc`` as an option (1 id in 64 did)."""
    import uuid

    dashed = uuid.UUID(bytes=bytes([0xF8]) + bytes(15))  # base64 "-A..."
    ids = iter([dashed, uuid.UUID(int=1)])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(ids))
    cid = broker.new_cluster_id()
    assert cid == "AAAAAAAAAAAAAAAAAAAAAQ"  # the dashed one was skipped
    monkeypatch.undo()
    assert all(not broker.new_cluster_id().startswith("-") for _ in range(500))
