"""streamproc.kafka.broker without a running broker: config rendering, commands, clear errors."""

from __future__ import annotations

import argparse
import os
import socket
from pathlib import Path

import pytest

from streamproc.cli import broker as broker_cli
from streamproc.config import Settings
from streamproc.kafka import broker
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
    assert "-Xmx512m" in cmd
    assert cmd[-3:] == [
        str(s.jars_dir / "*"),
        "kafka.Kafka",
        str(s.broker_dir / "server.properties"),
    ]
    assert f"-Dkafka.logs.dir={s.broker_dir / 'logs'}" in cmd
    assert f"-Dstreamproc.broker.dir={s.broker_dir}" in cmd
    assert any(a.startswith("-Dlog4j2.configurationFile=") for a in cmd)


def test_heap_can_be_overridden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_HEAP_OPTS", "-Xmx1g -Xms1g")
    cmd = broker.java_command(_settings(tmp_path))
    assert "-Xmx1g" in cmd and "-Xmx512m" not in cmd


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
    monkeypatch.setattr(broker.subprocess, "Popen", lambda *a, **k: launched.append(a))
    monkeypatch.setattr(broker.subprocess, "run", lambda *a, **k: launched.append(a))
    with pytest.raises(broker.BrokerError, match=rf"port {busy_port} .*already in use"):
        broker.start(s, timeout=5)
    assert launched == []
    assert not broker.pid_file(s).exists()


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
    monkeypatch.setattr(broker.shutil, "which", lambda name: None)
    with pytest.raises(broker.BrokerError, match="Java is not installed"):
        broker.find_java()


def test_missing_maven_only_matters_without_cached_jars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = _settings(tmp_path)
    monkeypatch.setattr(broker.shutil, "which", lambda name: None)
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
    broker.pid_file(s).write_text(f"{os.getpid()}\n")
    assert not broker.is_running(s)
    assert broker.stop(s) is False
    assert not broker.pid_file(s).exists()


def test_wait_until_ready_times_out_on_closed_port() -> None:
    assert broker.wait_until_ready(f"127.0.0.1:{free_port()}", timeout=0.5) is False
