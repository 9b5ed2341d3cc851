"""The Faust application: topics, RocksDB tables, agents; the thin shell around the core.

State per store lives in one changelogged RocksDB table (``store-state``), partitioned like
the input topics, so that a store's polls, hours and zone meet in one partition. The
watermark is a GlobalTable so that every worker agrees on ``now``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import faust
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from streamproc.config import Settings
from streamproc.core import wire
from streamproc.core.records import Rejection
from streamproc.core.report_rows import ReportRow
from streamproc.worker import faust_compat as transport
from streamproc.worker import peers
from streamproc.worker.processing import Incoming, Processor, Watermarks
from streamproc.worker.snapshot import TP, Snapshot, SnapshotTimeout, local_rows, wait_caught_up
from streamproc.worker.statestore import StateCache

log = logging.getLogger("streamproc.worker.app")

POLL_BATCH_MAX = 2000  # messages per take(); one message usually carries many polls
POLL_BATCH_WITHIN = 0.05  # seconds to wait for a batch to fill
PROFILE_BATCH_MAX = 1000  # hours / time-zone messages per take()
# Per-partition RocksDB sizing: Faust's defaults (64 MiB write buffers x3, a 2 GiB block
# cache per partition DB) would let memory grow far past the ~25 MiB of live state.
STATE_DB_OPTIONS = {
    "write_buffer_size": 4 << 20,
    "max_write_buffer_number": 2,
    "block_cache_size": 16 << 20,
    "target_file_size_base": 8 << 20,
}


@dataclass
class Pipeline:
    """Everything the worker's agents and web views share."""

    settings: Settings
    app: faust.App
    processor: Processor
    topics: dict[str, faust.TopicT] = field(default_factory=dict)
    _offsets_client: AIOKafkaConsumer | None = None

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
        assigned = self.app.assignor.assigned_actives()
        return sorted(
            (TopicPartition(tp.topic, tp.partition) for tp in assigned if tp.topic in names),
            key=lambda tp: (tp.topic, tp.partition),
        )

    async def _ends(self, tps: list[TopicPartition]) -> dict[TP, int]:
        if not tps:
            return {}
        ends = await (await self._client()).end_offsets(tps)
        return {(tp.topic, tp.partition): off for tp, off in ends.items()}

    async def end_offsets(self) -> dict[TP, int]:
        """End offsets of the input partitions this worker processes."""
        return await self._ends(self._input_tps())

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
        return self.app.tables.recovery.completed.is_set() and bool(self._input_tps())

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
        return await self._ends(
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
                peers.post_all(self, "/internal/catch-up", body, timeout + 5),
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
        rows = await local_rows(self.processor, now)
        if theirs:
            try:
                answers = await peers.post_all(self, "/internal/rows", {"now": now}, timeout)
            except peers.PeerError as exc:
                raise SnapshotTimeout(f"another worker did not send its rows: {exc}") from exc
            for answer in answers.values():
                rows.extend(ReportRow(*row) for row in answer["rows"])
            rows.sort(key=lambda row: row.store_id)
        waited = max(part["waited_s"] for part in parts)
        return Snapshot(rows, now, waited, time.monotonic() - started)

    async def close(self) -> None:
        if self._offsets_client is not None:
            await self._offsets_client.stop()
            self._offsets_client = None


def _incoming(event: faust.EventT) -> Incoming:
    m = event.message
    return Incoming(m.topic, m.partition, m.offset, m.key, m.value)


def create_app(settings: Settings) -> Pipeline:
    """Build the Faust app with its topics, tables, agents and web views."""
    settings.worker_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id,
        broker=settings.broker_url,
        store="rocksdb://",
        datadir=str(settings.worker_dir),
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        key_serializer="raw",
        value_serializer="raw",
        web_port=settings.web_port,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        table_standby_replicas=1,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=max(settings.session_timeout_s / 10, 0.5),
        consumer_auto_offset_reset="earliest",
        broker_max_poll_records=5000,
        stream_buffer_maxsize=8192,
        producer_linger_ms=5,
        producer_max_batch_size=1024 * 1024,
        web_enabled=True,
    )
    transport.install(app)  # re-reads records Faust drops in a rebalance (see the module)
    n = settings.partitions
    topics = {
        "polls": app.topic(settings.topic_polls, partitions=n, key_serializer="raw",
                           value_serializer="raw"),
        "hours": app.topic(settings.topic_hours, partitions=n, compacting=True,
                           key_serializer="raw", value_serializer="raw"),
        "timezones": app.topic(settings.topic_timezones, partitions=n, compacting=True,
                               key_serializer="raw", value_serializer="raw"),
    }
    deadletter = app.topic(settings.topic_deadletter, partitions=1, key_serializer="raw",
                           value_serializer="raw")
    # key_type/value_type bytes select the raw codec (faust derives serializers from types).
    states = app.Table(
        "store-state", partitions=n, key_type=bytes, value_type=bytes, default=None,
        options=dict(STATE_DB_OPTIONS),
    )
    marks = app.GlobalTable(
        "watermarks", partitions=n, key_type=bytes, value_type=int, default=None
    )

    def send_dead_letter(rejection: Rejection) -> None:
        deadletter.send_soon(key=rejection.source.encode(), value=wire.encode_rejection(rejection))

    watermarks = Watermarks(_KeyedTable(marks))
    processor = Processor(StateCache(_KeyedTable(states)), watermarks, send_dead_letter,
                          partitions=n)
    pipeline = Pipeline(settings, app, processor, topics)

    @app.agent(topics["polls"], name="polls")
    async def polls_agent(stream: faust.StreamT) -> None:
        async for events in stream.take_events(POLL_BATCH_MAX, within=POLL_BATCH_WITHIN):
            owner = {_incoming(e): e for e in events}

            def in_context(msg: Incoming, owner: dict = owner) -> None:
                # Table writes go to the partition of the "current event"; after take() that
                # is the last event of the batch, so point it at the message being applied.
                stream._set_current_event(owner[msg])

            watermarks.context = in_context
            processor.apply_polls(
                owner, lambda state, _msg: processor.cache.save(state), focus=in_context
            )
            watermarks.context = None

    def _batched(apply):  # one store per message: batches save Faust's per-event overhead
        async def agent(stream: faust.StreamT) -> None:
            save = lambda state, _msg: processor.cache.save(state)  # noqa: E731
            async for events in stream.take_events(PROFILE_BATCH_MAX, within=POLL_BATCH_WITHIN):
                for event in events:
                    stream._set_current_event(event)  # the table write's partition
                    apply(_incoming(event), save)

        return agent

    app.agent(topics["hours"], name="hours")(_batched(processor.apply_hours))
    app.agent(topics["timezones"], name="timezones")(_batched(processor.apply_timezone))

    @app.on_before_shutdown.connect
    async def _on_shutdown(app: faust.App, **kwargs: object) -> None:
        await pipeline.close()  # the offsets client, so the broker sees a clean leave

    @app.on_partitions_revoked.connect
    async def _on_revoked(app: faust.App, revoked: set, **kwargs: object) -> None:
        processor.cache.clear()

    from streamproc.web import register_views  # noqa: PLC0415 - views need the pipeline

    register_views(pipeline)
    return pipeline


class _KeyedTable:
    """str keys for callers, while the Faust table stores raw bytes keys."""

    def __init__(self, table: faust.Table) -> None:
        self._table = table

    def get(self, key: str, default=None):
        value = self._table.get(key.encode())
        return default if value is None else value

    def __getitem__(self, key: str):
        return self._table[key.encode()]

    def __setitem__(self, key: str, value) -> None:
        self._table[key.encode()] = value

    def __iter__(self):
        for key in self._table.keys():  # noqa: SIM118 - a faust Table has no __iter__ of keys
            yield key.decode() if isinstance(key, bytes) else key

    def keys(self):
        return iter(self)

    def values(self):
        return self._table.values()

    def __len__(self) -> int:
        return len(self._table)
