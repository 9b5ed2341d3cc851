"""docker-compose.yml describes the cluster the README promises (Docker does not run here, so
the file is checked as data: 3 brokers in one quorum, 2 workers that can reach each other)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
BROKERS = sorted(name for name in SERVICES if name.startswith("kafka"))
WORKERS = sorted(name for name in SERVICES if name.startswith("worker"))


def test_three_brokers_in_one_quorum_with_replication_three() -> None:
    assert len(BROKERS) == 3
    envs = [SERVICES[name]["environment"] for name in BROKERS]
    assert sorted(env["KAFKA_NODE_ID"] for env in envs) == [1, 2, 3]
    for name, env in zip(BROKERS, envs, strict=True):
        voters = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
        assert voters == [f"{i}@kafka{i}:9093" for i in (1, 2, 3)]
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        assert env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == 3
        assert env["KAFKA_MIN_INSYNC_REPLICAS"] == 2
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == 3
    assert len({env["CLUSTER_ID"] for env in envs}) == 1


def test_workers_advertise_urls_their_peers_can_call() -> None:
    assert len(WORKERS) == 2
    ports = set()
    for name in WORKERS:
        service = SERVICES[name]
        env = service["environment"]
        assert env["STREAMPROC_WEB_URL"] == f"http://{service['hostname']}:6066"
        assert service["hostname"] == name
        assert env["STREAMPROC_BROKER"] == "kafka://" + ",".join(f"{b}:9092" for b in BROKERS)
        assert env["STREAMPROC_REPLICATION"] == 3
        assert "STREAMPROC_API_TOKEN" in env  # never published on 0.0.0.0 without a token
        assert "STREAMPROC_PEER_SECRET" in env  # /internal/* not opened by the client token
        assert "STREAMPROC_SESSION_SECRET" in env  # cookies signed with a random key
        assert "STREAMPROC_OWNERS_FILE" in env  # owners, each seeing their stores only
        assert "./owners:/owners:ro" in service["volumes"]
        ports.update(p.split(":")[0] for p in service["ports"])
        assert service["volumes"][0].startswith(f"{name}-state:")
    assert len(ports) == 2


def test_secrets_stay_out_of_the_image() -> None:
    """Issue 25, finding 10: ``COPY . /app`` must not put an environment file or an owners
    file (token hashes, store lists) into the image."""
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".env", "owners", "**/owners*.csv"} <= ignored
