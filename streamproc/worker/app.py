"""The worker's topology in one place: every topic, table, agent and timer is declared here.

Read :func:`create_app` top to bottom to see the whole worker:

* input topics ``store-polls``, ``store-hours``, ``store-timezones`` (hours and zones
  compacted), all with the same partition count so a store's events meet in one partition;
  ``store-events``, the public event format (docs/events.md), re-keyed into them;
  ``streamproc-deadletter`` for rejected input; ``store-outages`` for outage events;
  ``report-requests`` for the report lifecycle;
* tables: ``store-state`` (each store's serialised state, RocksDB, changelogged, partitioned
  like the inputs), ``watermarks`` (a GlobalTable, so every worker agrees on ``now``),
  ``reports`` (report records), ``report-files`` (finished reports' CSV, in chunks),
  ``store-weeks`` (each store's last 8 weeks of uptime, partitioned like the state) and,
  with a webhook or a channels file, ``outage-alerts``;
* batched topics (consumed in the app's group, applied in batches without Faust's
  per-message stream path, ``faust_compat.batched_topic``): polls, hours, time zones and
  special hours (through the :class:`~streamproc.worker.processing.Processor`; every table
  write names its partition, ``faust_compat.BatchedChangelog``), public events (re-keyed,
  :func:`~streamproc.worker.event_intake.hand_over_events`);
* agents: ``reports`` (:class:`~streamproc.worker.reports.ReportJobs`),
  ``outage-alerts`` (:class:`~streamproc.worker.monitoring.Monitor`);
* timers: orphaned reports, report expiry, the outage scan, with alerts on the opening scan
  ("did not open") and the owners' digests, the weeks kept for the trends; a task tailing
  the watermarks changelog (:class:`~streamproc.worker.cluster_watermark.ClusterWatermark`);
* the web views of :mod:`streamproc.web`, added to Faust's aiohttp server.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import faust
import orjson

from streamproc import web
from streamproc.config import Settings
from streamproc.core import wire
from streamproc.core.records import Rejection
from streamproc.kafka.topics import all_topics, changelog_topics, ensure_topics
from streamproc.worker import faust_compat
from streamproc.worker.channel_book import ChannelBook
from streamproc.worker.cluster import ALERTS_TABLE, REPORTS_TABLE, STATE_TABLE, Cluster
from streamproc.worker.cluster_watermark import ClusterWatermark
from streamproc.worker.digests import CHECK_S as DIGEST_CHECK_S
from streamproc.worker.digests import Digests
from streamproc.worker.event_intake import SendFn, hand_over_events, publish_batch
from streamproc.worker.inbox import BatchFn
from streamproc.worker.loop_watch import LoopWatch
from streamproc.worker.monitoring import OPENING_SCAN_S, SCAN_INTERVAL_S, Monitor
from streamproc.worker.pipeline import Pipeline
from streamproc.worker.processing import Incoming, Processor, Watermarks
from streamproc.worker.reports import ORPHAN_CHECK_S, ReportJobs
from streamproc.worker.slices import time_slices
from streamproc.worker.statestore import KeyedTable, StateCache
from streamproc.worker.trends import Trends

log = logging.getLogger("streamproc.worker.app")

POLL_BATCH_MAX = 2000  # messages per batch; one message usually carries many polls
PROFILE_BATCH_MAX = 1000  # hours / time-zone messages applied per batch
EVENT_BATCH_MAX = 5000  # public events per batch; one poll each, regrouped per store
# Bytes fetched per partition and request. It was 32 KiB while all topics shared Faust's
# stream buffers (a poll waited behind a fetched backlog of hours); with an inbox per topic
# that pauses its own partitions, larger fetches only save round trips.
FETCH_BYTES_PER_PARTITION = 256 * 1024
# Per-partition RocksDB sizing: Faust's defaults (64 MiB write buffers x3, a 2 GiB block
# cache per partition DB) would let memory grow far past the ~25 MiB of live state.
STATE_DB_OPTIONS = {
    "write_buffer_size": 4 << 20,
    "max_write_buffer_number": 2,
    "block_cache_size": 16 << 20,
    "target_file_size_base": 8 << 20,
}
RAW = {"key_serializer": "raw", "value_serializer": "raw"}
INPUTS = ("polls", "hours", "timezones", "special_hours", "events")  # what a snapshot waits for
GC_THRESHOLDS = (50_000, 20, 100)  # Python's defaults: (700, 10, 10)


def create_app(settings: Settings) -> Pipeline:
    """The Faust app with every topic, table, agent, timer and web view of a worker."""
    settings.worker_dir.mkdir(parents=True, exist_ok=True)
    app = _faust_app(settings)
    faust_compat.install_transport(app)  # re-reads records Faust drops in a rebalance
    topics = _topics(app, settings)
    tables = _tables(app, settings)
    shared = ClusterWatermark(settings.bootstrap,
                              tables["watermarks"].changelog_topic.get_topic_name(),
                              settings.partitions)
    processor, writes = _processor(settings, topics, tables, shared)
    inputs = {name: topics[name] for name in INPUTS}
    cluster = Cluster(settings, app, processor, inputs)
    reports = ReportJobs(settings, cluster, topics["reports"], tables["reports"],
                         tables["report-files"])
    monitor = Monitor(settings, processor, topics["outages"], tables["alerts"])
    processor.on_status = monitor.on_status
    send, n = _sender(topics), settings.partitions
    weeks = faust_compat.BatchedChangelog(tables["weeks"])
    writes = TableWrites((*writes.logs, weeks))
    trends = Trends(processor, weeks, n)
    pipeline = Pipeline(settings, cluster, processor, reports, monitor,
                        publish=lambda batch: publish_batch(batch, processor, send, n),
                        trends=trends)
    _agents(app, processor, writes.durable, topics, reports, monitor, n)
    _timers(app, reports, monitor)
    app.timer(settings.trend_check_s, name="trends")(trends.tick)
    _digests(app, cluster, processor, monitor)
    app.task(_quiet_libraries)
    app.task(LoopWatch(settings.loop_stall_s).run)
    app.task(shared.run)
    _signals(app, settings, cluster, processor, monitor, writes)
    web.install(faust_compat.web_application(app), pipeline)
    faust_compat.configure_web_server(app, settings.http_idle_timeout_s)
    return pipeline


def run_worker(settings: Settings, loglevel: str) -> int:
    """Create the topics (and the tables' changelogs) if missing, then run until stopped."""
    problem = settings.exposure_problem() or _channels_problem(settings)
    if problem:
        print(f"streamproc worker: {problem}", file=sys.stderr)
        return 2
    _tune_gc()
    pipeline = create_app(settings)
    try:
        tables = pipeline.cluster.app.tables.values()
        topics = all_topics(settings) + changelog_topics(tables, settings.partitions)
        asyncio.run(ensure_topics(settings.bootstrap, topics, replication=settings.replication))
    except Exception as exc:  # noqa: BLE001 - any failure here means "cannot reach Kafka"
        print(f"streamproc worker: cannot reach Kafka at {settings.bootstrap}: {exc}",
              file=sys.stderr)
        return 1
    faust.Worker(pipeline.cluster.app, loglevel=loglevel, quiet=True).execute_from_commandline()
    return 0


def _channels_problem(settings: Settings) -> str | None:
    """Why the channels file (or the owners file it names owners of) cannot be used, or
    None: a typo must stop the worker, not silence every owner."""
    if settings.channels_file is None:
        return None
    try:
        ChannelBook(settings.channels_file, settings.owners_file, settings.alert_webhook)
    except ValueError as exc:
        return f"STREAMPROC_CHANNELS_FILE: {exc}"
    return None


def _tune_gc() -> None:
    """Collect cycles less often: the worker keeps hundreds of thousands of long-lived
    objects (every store's state), and with Python's default thresholds a full collection
    ran every few batches for 70-90 ms, a third of the time of applying the fleet's hours
    and zones (messages/s 20,000 -> 25,000 with these). The state makes few cycles."""
    gc.set_threshold(*GC_THRESHOLDS)


def _faust_app(settings: Settings) -> faust.App:
    return faust.App(
        settings.app_id,
        broker=settings.broker_url,
        store="rocksdb://",
        datadir=str(settings.worker_dir),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication,
        key_serializer="raw",
        value_serializer="raw",
        web_port=settings.web_port,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        canonical_url=settings.advertised_url,
        table_standby_replicas=1,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=max(settings.session_timeout_s / 10, 0.5),
        consumer_auto_offset_reset="earliest",
        broker_max_poll_records=5000,
        consumer_max_fetch_size=FETCH_BYTES_PER_PARTITION,
        stream_buffer_maxsize=8192,
        producer_linger_ms=5,
        producer_max_batch_size=1024 * 1024,
        web_enabled=True,
    )


def _topics(app: faust.App, settings: Settings) -> dict[str, faust.TopicT]:
    n = settings.partitions
    return {
        "polls": app.topic(settings.topic_polls, partitions=n, **RAW),
        "hours": app.topic(settings.topic_hours, partitions=n, compacting=True, **RAW),
        "timezones": app.topic(settings.topic_timezones, partitions=n, compacting=True, **RAW),
        "special_hours": app.topic(settings.topic_special_hours, partitions=n, compacting=True,
                                   **RAW),
        "events": app.topic(settings.topic_events, partitions=n, **RAW),
        "deadletter": app.topic(settings.topic_deadletter, partitions=1, **RAW),
        "outages": app.topic(settings.topic_outages, partitions=1, **RAW),
        "reports": app.topic(settings.topic_reports, partitions=1, **RAW),
    }


def _tables(app: faust.App, settings: Settings) -> dict[str, faust.Table | None]:
    # key_type/value_type bytes select the raw codec (faust derives serializers from types).
    raw = {"key_type": bytes, "value_type": bytes, "default": None}
    n = settings.partitions
    return {
        "states": app.Table(STATE_TABLE, partitions=n, options=dict(STATE_DB_OPTIONS), **raw),
        "watermarks": app.GlobalTable("watermarks", partitions=n, key_type=bytes,
                                      value_type=int, default=None),
        "reports": app.Table(REPORTS_TABLE, partitions=1, **raw),
        "report-files": app.Table("report-files", partitions=1, **raw),
        # week-over-week uptime per store beyond the horizon (worker/trends.py), partitioned
        # like store-state so a store's worker holds its weeks
        "weeks": app.Table("store-weeks", partitions=n, options=dict(STATE_DB_OPTIONS), **raw),
        "alerts": (app.Table(ALERTS_TABLE, partitions=1, **raw)
                   if settings.alerts_enabled else None),
    }


def _processor(settings: Settings, topics: dict[str, faust.TopicT],
               tables: dict[str, faust.Table | None], shared: ClusterWatermark,
               ) -> tuple[Processor, TableWrites]:
    """The stream's state over the ``store-state`` and ``watermarks`` tables, and their
    changelog writes."""
    deadletter = topics["deadletter"]

    def send_dead_letter(rejection: Rejection) -> None:
        deadletter.send_soon(key=rejection.source.encode(), value=wire.encode_rejection(rejection))

    marks = tables["watermarks"]
    states = faust_compat.BatchedChangelog(tables["states"])
    marks_log = faust_compat.BatchedChangelog(marks)

    def write_mark(partition: int, key: str, ts_us: int) -> None:
        marks_log.put(partition, key, orjson.dumps(ts_us))  # the table's JSON value codec

    processor = Processor(StateCache(KeyedTable(tables["states"]), states),
                          Watermarks(KeyedTable(marks), shared=lambda: shared.now,
                                     write=write_mark),
                          send_dead_letter, partitions=settings.partitions)
    return processor, TableWrites((states, marks_log))


def _agents(app: faust.App, processor: Processor, durable: Callable[[], Awaitable[object]],
            topics: dict[str, faust.TopicT], reports: ReportJobs, monitor: Monitor,
            partitions: int) -> None:
    """The input topics through batched inboxes (worker/inbox.py: no per-message stream
    path); report requests and outage alerts through Faust agents."""
    app.task(faust_compat.batched_topic(app, topics["polls"],
                                        _apply_polls(processor, durable), POLL_BATCH_MAX,
                                        gapless=True))
    for name, apply in (("hours", processor.apply_hours),
                        ("timezones", processor.apply_timezone),
                        ("special_hours", processor.apply_special)):
        app.task(faust_compat.batched_topic(
            app, topics[name], _apply_profiles(apply, processor, durable), PROFILE_BATCH_MAX))
    app.task(faust_compat.batched_topic(
        app, topics["events"], _forward_events(processor, topics, partitions),
        EVENT_BATCH_MAX, gapless=True))
    app.agent(topics["reports"], name="reports")(reports.consume)
    if monitor.alerts_table is not None:
        app.agent(topics["outages"], name="outage-alerts")(monitor.send_alerts)


def _timers(app: faust.App, reports: ReportJobs, monitor: Monitor) -> None:
    app.timer(ORPHAN_CHECK_S, name="reports-orphans")(reports.timers.resume_orphans)
    app.timer(reports.timers.expire_check_s, name="reports-expiry")(reports.timers.expire_old)
    app.timer(SCAN_INTERVAL_S, name="outage-scan")(monitor.scan)
    if monitor.alerting is not None:
        app.timer(OPENING_SCAN_S, name="opening-scan")(monitor.scan_openings)


def _digests(app: faust.App, cluster: Cluster, processor: Processor, monitor: Monitor) -> None:
    """With alerts on, a timer sends the owners' daily and weekly digests (on the worker
    that holds the alerts table; the report's snapshot at each digest's time)."""
    if monitor.alerting is None:
        return

    async def rows_at(as_of: int) -> list:
        return (await cluster.snapshot(as_of=as_of, figures=True)).rows

    def holds_alerts() -> bool:
        try:
            return cluster.alerts_owner() is None
        except LookupError:
            return False

    alerts_log = faust_compat.BatchedChangelog(monitor.alerting.table)

    async def save(key: bytes, value: bytes) -> None:
        alerts_log.put(0, key.decode(), value)  # the alerts table has one partition
        await alerts_log.flush()

    digests = Digests(monitor.alerting, rows_at, holds_alerts, processor.watermarks.now, save)
    app.timer(DIGEST_CHECK_S, name="digests")(digests.tick)


@dataclass(frozen=True)
class TableWrites:
    """The tables' changelog writers the agents write through."""

    logs: tuple[faust_compat.BatchedChangelog, ...]

    def durable(self) -> Awaitable[object]:
        """Waits until every table write so far is in the changelogs."""
        return asyncio.gather(*(log.flush() for log in self.logs))

    async def settle(self, timeout: float) -> bool:
        """Until every changelog send in flight landed or failed; False after ``timeout``."""
        settled = await asyncio.gather(*(log.settle(timeout) for log in self.logs))
        return all(settled)

    def keep_only(self, partitions: set[int]) -> int:
        """Drop rows still held for partitions not in ``partitions``; returns how many."""
        return sum(log.forget_partitions(partitions.__contains__) for log in self.logs)


STOP_SETTLE_S = 10.0  # of a stop's ~30 s budget (a deploy's SIGTERM), for sends in flight


def _signals(app: faust.App, settings: Settings, cluster: Cluster, processor: Processor,
             monitor: Monitor, writes: TableWrites) -> None:
    @app.on_before_shutdown.connect
    async def _on_shutdown(app: faust.App, **kwargs: object) -> None:
        # before the consumer leaves the group: no send of ours lands after a new holder's
        if not await writes.settle(STOP_SETTLE_S):
            log.warning("changelog sends still in flight after %.0f s of stopping", STOP_SETTLE_S)
        await cluster.close()  # the offsets client, so the broker sees a clean leave

    @app.on_partitions_revoked.connect
    async def _on_revoked(app: faust.App, revoked: set, **kwargs: object) -> None:
        cluster.reassigned()  # a snapshot evaluated across this is not trusted
        # Faust stops waiting for a batch whose input it dropped, not for its changelog
        # rows: a send landing after the partition's new holder wrote the same keys would
        # leave the changelog with older rows (changelog_sends.py). The group waits for us;
        # half the session timeout, so that this member is not taken for gone meanwhile.
        bound = settings.session_timeout_s / 2
        if not await writes.settle(bound):
            log.warning("changelog sends still in flight after %.0f s of a rebalance", bound)
        processor.cache.clear()  # partitions may have moved: re-read lazily
        monitor.forget_partitions()

    @app.on_rebalance_complete.connect
    async def _on_restored(app: faust.App, **kwargs: object) -> None:
        # and once the tables are restored: what a lookup read meanwhile may lack stores
        processor.cache.clear()

    @app.on_partitions_assigned.connect
    async def _on_assigned(app: faust.App, assigned: set, **kwargs: object) -> None:
        cluster.reassigned()
        # again: a snapshot asked between the revocation and now listed the stores of the
        # partitions being revoked, and the cache kept them as complete: every later
        # snapshot of this worker was refused ("stores ... are not in partitions"; soak)
        processor.cache.clear()
        mine = {tp.partition for tp in faust_compat.assigned_partitions(app)
                if tp.topic == settings.topic_polls}
        dropped = writes.keep_only(mine)
        if dropped:
            log.warning("dropped %d changelog rows of partitions now held elsewhere", dropped)


async def _quiet_libraries() -> None:
    """Keep the libraries' per-message debug calls cheap whatever the root level is."""
    level = max(logging.getLogger().getEffectiveLevel(), logging.INFO)
    for name in ("aiokafka", "faust", "mode", "kafka", "apprise"):
        logging.getLogger(name).setLevel(level)


# -- agents -----------------------------------------------------------------------------------


def _apply_polls(processor: Processor, durable: Callable[[], Awaitable[object]]) -> BatchFn:
    """Polls in batches (one message usually carries many stores' polls); each store and
    each partition's watermark is written once per batch, naming its partition, and the
    batch is durable once those writes are in the changelogs."""
    save = lambda state, msg: processor.cache.save(state, msg.partition)  # noqa: E731

    async def apply_batch(batch: list[Incoming]) -> Awaitable[object]:
        async for part in time_slices(batch):
            plan = processor.plan_polls(part)
            async for groups in time_slices(plan.groups):  # a message may hold 16,000 polls
                processor.apply_groups(plan, groups, save)
            processor.finish_polls(plan)
        return durable()

    return apply_batch


def _sender(topics: dict[str, faust.TopicT]) -> SendFn:
    """Send to an internal topic by its short name; returns the future of the broker's ack."""

    async def send(name: str, partition: int, key: bytes, value: bytes | None) -> object:
        return await topics[name].send(key=key, value=value, partition=partition)

    return send


def _forward_events(processor: Processor, topics: dict[str, faust.TopicT],
                    partitions: int) -> BatchFn:
    """Public events (docs/events.md), re-keyed by store into the internal topics; a batch
    is done once the broker has every message it produced."""
    send = _sender(topics)

    async def forward(batch: list[Incoming]) -> Awaitable[int]:
        return await hand_over_events(batch, processor, send, partitions)

    return forward


def _apply_profiles(apply: Callable, processor: Processor,
                    durable: Callable[[], Awaitable[object]]) -> BatchFn:
    """Hours, time zones or special hours: one store per message; each write names its
    partition, and the batch is durable once its writes are in the changelog."""
    save = lambda state, msg: processor.cache.save(state, msg.partition)  # noqa: E731

    async def apply_batch(batch: list[Incoming]) -> Awaitable[None]:
        async for part in time_slices(batch):
            for msg in part:
                apply(msg, save)
        return durable()

    return apply_batch
