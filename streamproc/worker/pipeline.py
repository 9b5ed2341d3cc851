"""The runtime every agent, timer and web view of a worker shares: one :class:`Pipeline`.

It holds the Faust app, the :class:`~streamproc.worker.processing.Processor` (the stream's
state), the report jobs and the monitor, and answers the questions views ask about the
cluster: which partitions this worker owns, who owns a store, whether the state is complete,
and a consistent snapshot of every store across all workers (``snapshot``).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import faust
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from streamproc.config import Settings
from streamproc.core.report_rows import ReportRow
from streamproc.worker import faust_compat, peers
from streamproc.worker.processing import Processor
from streamproc.worker.snapshot import TP, Snapshot, SnapshotTimeout, local_rows, wait_caught_up

if TYPE_CHECKING:
    from streamproc.worker.monitoring import Monitor
    from streamproc.worker.report_jobs import ReportJobs

STATE_TABLE = "store-state"
PEER_TIMEOUT_S = 10.0


@dataclass
class Pipeline:
    """Everything the worker's agents and web views share."""

    settings: Settings
    app: faust.App
    processor: Processor
    topics: dict[str, faust.TopicT] = field(default_factory=dict)  # the input topics
    reports: ReportJobs | None = None  # set by create_app
    monitor: Monitor | None = None  # set by create_app
    _offsets_client: AIOKafkaConsumer | None = None

    # -- who owns what ---------------------------------------------------------------------

    def own_url(self) -> str:
        """This worker's web address as its peers reach it."""
        return str(self.app.conf.canonical_url).rstrip("/")

    def peer_urls(self) -> list[str]:
        """Web addresses of the other workers that hold store-state partitions."""
        return peers.peer_urls(self.app, STATE_TABLE, self.own_url())

    def store_owner(self, store_id: str) -> str | None:
        """The web address of the worker holding ``store_id``; None when it is this one.

        Raises LookupError while no worker holds the store's partition (a rebalance)."""
        try:
            url = str(self.app.router.key_store(STATE_TABLE, store_id)).rstrip("/")
        except KeyError as exc:
            raise LookupError(f"no worker holds store {store_id} right now") from exc
        return None if url == self.own_url() else url

    async def ask_peers(self, path_qs: str, headers: dict[str, str],
                        timeout: float = PEER_TIMEOUT_S) -> list[dict]:
        """GET ``path_qs`` from every other worker: the JSON of those that answered."""
        return await peers.get_each(self.app, self.peer_urls(), path_qs, headers, timeout)

    async def forward(self, url: str, path_qs: str, headers: dict[str, str],
                      timeout: float = PEER_TIMEOUT_S) -> tuple[int, bytes, str]:
        """GET ``path_qs`` from the worker at ``url``: (status, body, content type)."""
        return await peers.forward_get(self.app, url, path_qs, headers, timeout)

    def assigned(self) -> set:
        """Topic-partitions this worker processes now (inputs, tables, report requests)."""
        return faust_compat.assigned_partitions(self.app)

    def recovering(self) -> bool:
        """Tables are being restored from their changelogs: reads may miss records."""
        return not faust_compat.recovery_completed(self.app)

    # -- offsets for consistent snapshots ----------------------------------------------------

    async def _client(self) -> AIOKafkaConsumer:
        if self._offsets_client is None:
            client = AIOKafkaConsumer(
                bootstrap_servers=self.settings.bootstrap,
                group_id=self.settings.app_id,
                enable_auto_commit=False,
            )
            await client.start()
            self._offsets_client = client
        return self._offsets_client

    def _input_tps(self) -> list[TopicPartition]:
        names = {t.get_topic_name() for t in self.topics.values()}
        assigned = faust_compat.assigned_partitions(self.app)
        return sorted(
            (TopicPartition(tp.topic, tp.partition) for tp in assigned if tp.topic in names),
            key=lambda tp: (tp.topic, tp.partition),
        )

    async def end_offsets_of(self, tps: list[TopicPartition]) -> dict[TP, int]:
        if not tps:
            return {}
        ends = await (await self._client()).end_offsets(tps)
        return {(tp.topic, tp.partition): off for tp, off in ends.items()}

    async def end_offsets(self) -> dict[TP, int]:
        """End offsets of the input partitions this worker processes."""
        return await self.end_offsets_of(self._input_tps())

    async def committed(self) -> dict[TP, int]:
        client = await self._client()
        out: dict[TP, int] = {}
        for tp in self._input_tps():
            off = await client.committed(tp)
            if off is not None:
                out[(tp.topic, tp.partition)] = off
        return out

    def is_ready(self) -> bool:
        """Partitions assigned and tables recovered: the state is complete for reading."""
        return not self.recovering() and bool(self._input_tps())

    async def wait_ready(self, timeout: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.is_ready():
            if asyncio.get_running_loop().time() > deadline:
                raise SnapshotTimeout(
                    f"worker not ready after {timeout:.0f}s (waiting for partition "
                    "assignment and table recovery)"
                )
            await asyncio.sleep(0.05)

    def owned_partitions(self) -> list[int]:
        """Partitions of the polls topic this worker processes (a store's home partition)."""
        polls = self.topics["polls"].get_topic_name()
        return sorted(tp.partition for tp in self._input_tps() if tp.topic == polls)

    async def all_end_offsets(self) -> dict[TP, int]:
        """End offsets of every input partition, whoever processes it."""
        names = sorted(t.get_topic_name() for t in self.topics.values())
        return await self.end_offsets_of(
            [TopicPartition(n, p) for n in names for p in range(self.settings.partitions)]
        )

    async def catch_up(self, targets: dict[TP, int], timeout: float) -> dict:
        """Wait until this worker's partitions reach ``targets``; say which and the watermark."""
        await self.wait_ready(timeout)
        own = {(tp.topic, tp.partition) for tp in self._input_tps()}
        mine = {tp: off for tp, off in targets.items() if tp in own}
        waited = await wait_caught_up(self.processor, mine, self.committed, timeout)
        return {
            "watermark": self.processor.watermarks.refresh(),
            "partitions": self.owned_partitions(),
            "waited_s": waited,
        }

    async def snapshot(self, as_of: int | None = None, timeout: float = 60.0) -> Snapshot:
        """All stores of all workers, including every event acknowledged before the call."""
        await self.wait_ready(timeout)
        targets = await self.all_end_offsets()
        body = {"targets": [[t, p, o] for (t, p), o in targets.items()], "timeout": timeout}
        try:
            mine, theirs = await asyncio.gather(
                self.catch_up(targets, timeout),
                peers.post_all(self.app, self.peer_urls(), "/internal/catch-up", body,
                               timeout + 5, self.peer_headers()),
            )
        except peers.PeerError as exc:
            raise SnapshotTimeout(f"another worker did not catch up: {exc}") from exc
        parts = [mine, *theirs.values()]
        covered = {p for part in parts for p in part["partitions"]}
        missing = sorted(set(range(self.settings.partitions)) - covered)
        if missing:
            raise SnapshotTimeout(
                f"partitions {missing} have no worker right now (a rebalance is in progress)"
            )
        marks = [part["watermark"] for part in parts if part["watermark"] is not None]
        now = as_of if as_of is not None else (max(marks) if marks else None)
        started = time.monotonic()
        rows = await self.local_rows(now)
        if theirs:
            try:
                answers = await peers.post_all(self.app, self.peer_urls(), "/internal/rows",
                                               {"now": now}, timeout, self.peer_headers())
            except peers.PeerError as exc:
                raise SnapshotTimeout(f"another worker did not send its rows: {exc}") from exc
            for answer in answers.values():
                rows.extend(ReportRow(*row) for row in answer["rows"])
            rows.sort(key=lambda row: row.store_id)
        waited = max(part["waited_s"] for part in parts)
        return Snapshot(rows, now, waited, time.monotonic() - started)

    async def local_rows(self, now: int | None) -> list[ReportRow]:
        """Report rows of the stores this worker holds, at ``now``."""
        return await local_rows(self.processor, now)

    def peer_headers(self) -> dict[str, str]:
        """What a call to another worker carries (its token, when the API has one)."""
        token = self.settings.api_token
        return {"Authorization": f"Bearer {token}"} if token else {}

    async def close(self) -> None:
        if self._offsets_client is not None:
            await self._offsets_client.stop()
            self._offsets_client = None
