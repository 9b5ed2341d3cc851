"""The soak's private Kafka cluster: 3 KRaft nodes (replication 3, ``min.insync.replicas=2``)
in the run directory, on free ports, with the project's cached broker jars linked in.

A node is killed with SIGKILL and started again with its data; before a node is killed the
cluster must be whole again (every partition's replicas all in sync), because a second node
lost while the first one's replicas are still catching up would leave partitions with one
in-sync copy, and ``acks=all`` writes would stall until it caught up.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from streamproc import localkafka
from streamproc.config import Settings
from streamproc.localkafka.jars import jars_cached

IN_SYNC_TIMEOUT_S = 120.0


def shared_jars(settings: Settings) -> Path:
    """The cached Kafka jars: those of ``settings``' state dir, else those of the checkout's
    default state dir (``.streamproc/jars``), else downloaded into ``settings``' (mvn)."""
    for candidate in (settings, Settings()):
        if jars_cached(candidate):
            return candidate.jars_dir
    return localkafka.ensure_jars(settings, quiet=True)


@dataclass
class Brokers:
    """A started cluster of ``size`` nodes whose state lives in ``settings.state_dir``."""

    settings: Settings  # with every node in broker_url and the replication factor
    size: int

    @classmethod
    def start(cls, directory: Path, jars: Path, size: int = 3) -> Brokers:
        """Start a cluster in ``directory`` (created, ``jars`` linked in)."""
        directory.mkdir(parents=True)
        (directory / "jars").symlink_to(jars, target_is_directory=True)
        port = localkafka.free_cluster_port(size)
        settings = Settings(broker_url=f"kafka://127.0.0.1:{port}", controller_port=port + 1,
                            state_dir=directory)
        bootstrap = localkafka.start_cluster(settings, size)
        replication, _ = localkafka.replication_of(size)
        return cls(Settings(broker_url=f"kafka://{bootstrap}", controller_port=port + 1,
                            state_dir=directory, replication=replication), size)

    @property
    def bootstrap(self) -> str:
        return self.settings.bootstrap

    @property
    def env(self) -> dict[str, str]:
        """What the workers and the replay need to use this cluster."""
        return {"STREAMPROC_BROKER": f"kafka://{self.bootstrap}",
                "STREAMPROC_REPLICATION": str(self.settings.replication)}

    def log_dirs(self) -> list[Path]:
        return [self.settings.state_dir / f"kafka-{i}" / "logs" for i in range(1, self.size + 1)]

    def down(self) -> list[int]:
        return [i for i in range(1, self.size + 1)
                if localkafka.node_pid(self.settings, i) is None]

    def kill(self, node: int) -> None:
        """SIGKILL one node and wait until it is gone."""
        localkafka.stop_node(self.settings, node, kill=True)

    def restart(self, node: int) -> float:
        """Start a node again with its data; the seconds until it answered."""
        started = time.monotonic()
        localkafka.start_node(self.settings, node)
        return time.monotonic() - started

    def wait_in_sync(self, timeout: float = IN_SYNC_TIMEOUT_S) -> float:
        """Until no partition of any topic lacks an in-sync replica; the seconds waited.
        Raises TimeoutError with the count still short."""
        started = time.monotonic()
        short = -1
        while time.monotonic() - started < timeout:
            try:
                short = asyncio.run(_under_replicated(self.bootstrap))
            except Exception:  # noqa: BLE001 - a node is still starting: ask again
                short = -1
            if short == 0:
                return time.monotonic() - started
            time.sleep(1.0)
        raise TimeoutError(f"{short} partitions still under-replicated after {timeout:.0f}s")

    def stop(self) -> None:
        localkafka.stop(self.settings, timeout=30)


async def _under_replicated(bootstrap: str) -> int:
    """Partitions whose in-sync replicas are fewer than their replicas."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        topics = await admin.list_topics()
        described = await admin.describe_topics(list(topics))
        return sum(1 for d in described for p in d["partitions"]
                   if len(p["isr"]) < len(p["replicas"]))
    finally:
        await admin.close()
