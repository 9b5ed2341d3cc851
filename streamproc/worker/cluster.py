"""This worker's view of the cluster: one :class:`Cluster`.

It answers what the report jobs and the web views ask about the workers of one app: which
partitions this worker holds, who holds a store or the reports, whether this worker is
ready, and a consistent snapshot of every store across all workers (:meth:`Cluster.
snapshot`: each worker catches up with the broker, then answers for its partitions, all
against one assignment). It knows the Faust app (assignment, router) and the stream's
:class:`~streamproc.worker.processing.Processor`; nothing here knows reports or outages.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Protocol

import faust
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from streamproc import peers
from streamproc.config import Settings
from streamproc.core.coverage import StabilityWait, coverage_problem, duplicate_ids
from streamproc.core.report_rows import ReportRow, row_from_wire
from streamproc.kafka.partitioning import partition_of
from streamproc.worker import faust_compat
from streamproc.worker.processing import Processor
from streamproc.worker.snapshot import TP, Snapshot, SnapshotTimeout, local_rows, wait_caught_up

log = logging.getLogger("streamproc.worker.cluster")

STATE_TABLE = "store-state"
RETRY_PAUSE_MAX_S = 2.0  # between snapshot attempts while the assignment moves
REPORTS_TABLE = "reports"
ALERTS_TABLE = "outage-alerts"  # what was sent per store, and its history (one partition)
PEER_TIMEOUT_S = 10.0
NO_PEER_SECRET = ("several workers share this pipeline but STREAMPROC_PEER_SECRET is not set: "
                  "they cannot ask each other (/internal/* is closed); set the same secret "
                  "on every worker")


class ClusterView(Protocol):
    """What the report jobs need to know about the cluster (tests pass their own)."""

    def assigned(self) -> set: ...
    def recovering(self) -> bool: ...
    def stopping(self) -> bool: ...
    def is_ready(self) -> bool: ...
    def watermark_now(self) -> int | None: ...
    async def end_offsets_of(self, tps: list[TopicPartition]) -> dict[TP, int]: ...
    async def snapshot(self, as_of: int | None = None, timeout: float = 60.0,
                       figures: bool = False, stores: list[str] | None = None
                       ) -> Snapshot: ...


@dataclass
class Cluster:
    """The workers of one app, as this worker sees them."""

    settings: Settings
    app: faust.App
    processor: Processor
    topics: dict[str, faust.TopicT] = field(default_factory=dict)  # the input topics
    epoch: int = 0  # +1 on every partition revocation and assignment (snapshot guard)
    _offsets_client: AIOKafkaConsumer | None = None
    _moved: asyncio.Event = field(default_factory=asyncio.Event)  # set by reassigned()

    # -- who owns what ---------------------------------------------------------------------

    def own_url(self) -> str:
        """This worker's web address as its peers reach it."""
        return str(self.app.conf.canonical_url).rstrip("/")

    def peer_urls(self) -> list[str]:
        """Web addresses of the other workers that hold store-state partitions."""
        try:
            hosts = self.app.router.table_metadata(STATE_TABLE)
        except (KeyError, AttributeError):
            return []
        return sorted({str(h).rstrip("/") for h in hosts} - {self.own_url()})

    def store_owner(self, store_id: str) -> str | None:
        """The web address of the worker holding ``store_id``; None when it is this one.

        Raises LookupError while no worker holds the store's partition (a rebalance)."""
        return self._owner(STATE_TABLE, store_id, f"store {store_id}")

    def reports_owner(self) -> str | None:
        """The worker holding the (one) report partition; None when it is this one."""
        return self._owner(REPORTS_TABLE, "reports", "the reports")

    def alerts_owner(self) -> str | None:
        """The worker holding the (one) alerts partition; None when it is this one."""
        return self._owner(ALERTS_TABLE, "alerts", "the alerts")

    def _owner(self, table: str, key: str, what: str) -> str | None:
        try:
            url = str(self.app.router.key_store(table, key)).rstrip("/")
        except (KeyError, TypeError) as exc:  # TypeError: topic metadata not loaded yet
            raise LookupError(f"no worker holds {what} right now (a rebalance?)") from exc
        return None if url == self.own_url() else url

    async def ask_peers(self, path_qs: str, headers: dict[str, str],
                        timeout: float = PEER_TIMEOUT_S) -> list[dict]:
        """GET ``path_qs`` from every other worker: the JSON of those that answered."""
        return await peers.get_each(self.app.http_client, self.peer_urls(), path_qs, headers,
                                    timeout)

    async def forward(self, method: str, url: str, path_qs: str, headers: dict[str, str],
                      body: bytes | None = None,
                      timeout: float = PEER_TIMEOUT_S) -> tuple[int, bytes, dict[str, str]]:
        """Send a request on to the worker at ``url``: (status, body, headers to pass back);
        PeerError if it could not be reached."""
        return await peers.forward(self.app.http_client, method, url + path_qs, headers, body,
                                   timeout)

    def watermark_now(self) -> int | None:
        """The event-time watermark ``now`` (the latest poll any worker applied)."""
        return self.processor.watermarks.now()

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
        return sorted(
            (TopicPartition(tp.topic, tp.partition) for tp in self.assigned()
             if tp.topic in names),
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

    def not_ready(self) -> str | None:
        """Why this worker would not accept a report trigger now (None: it would).

        Ready means what a client of ``/trigger_report`` needs: partitions assigned, tables
        recovered, and a worker known to hold the report partition (the trigger is recorded
        there). ``/health`` says ok as soon as the web server runs, a second or two earlier."""
        if self.stopping():
            return "this worker is stopping"
        if self.recovering():
            return "tables are being recovered from their changelogs"
        if faust_compat.rebalancing(self.app):
            return "a rebalance is in progress"
        if not self._input_tps():
            return "no partitions assigned yet (joining the consumer group)"
        try:
            self.reports_owner()
        except LookupError as exc:
            return str(exc)
        return None

    def stopping(self) -> bool:
        """The worker is shutting down (SIGTERM): it will not be ready again."""
        return self.app.should_stop

    async def wait_ready(self, timeout: float) -> None:
        """Until partitions are assigned and tables recovered. A worker that is stopping
        refuses at once: waiting would hold a peer's catch-up request open until this
        worker's web server closes (a minute), and stall that peer's report meanwhile."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.is_ready():
            if self.stopping():
                raise SnapshotTimeout("this worker is stopping")
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
        """Wait until this worker's partitions reach ``targets``; say which, the watermark and
        the assignment epoch they were taken at (the coordinator compares it with the rows')."""
        await self.wait_ready(timeout)
        epoch, partitions = self.epoch, self.owned_partitions()
        own = {(tp.topic, tp.partition) for tp in self._input_tps()}
        mine = {tp: off for tp, off in targets.items() if tp in own}
        waited = await wait_caught_up(self.processor, mine, self.committed, timeout)
        return {
            "watermark": self.processor.watermarks.refresh(),
            "partitions": partitions,
            "inputs": sorted([t, p] for t, p in own),
            "epoch": epoch,
            "waited_s": waited,
        }

    async def local_part(self, now: int | None, figures: bool = False,
                         stores: list[str] | None = None) -> dict:
        """This worker's rows at ``now`` with the partitions they cover, evaluated against one
        assignment (AssignmentChanged if partitions moved meanwhile); ``figures``: FullRows;
        ``stores``: only those (an owner's report)."""
        epoch, partitions = self.epoch, self.owned_partitions()
        rows = await local_rows(self.processor, now, figures, stores)
        if self.epoch != epoch or self.owned_partitions() != partitions:
            raise AssignmentChanged("partitions were reassigned during the evaluation")
        n = self.settings.partitions
        stray = [r.store_id for r in rows if partition_of(r.store_id, n) not in partitions]
        if stray:
            raise AssignmentChanged(f"stores {stray[:3]} are not in partitions {partitions}")
        return {"rows": rows, "partitions": partitions, "epoch": epoch}

    async def snapshot(self, as_of: int | None = None, timeout: float = 60.0,
                       figures: bool = False, stores: list[str] | None = None) -> Snapshot:
        """All stores of all workers (or only ``stores``: an owner's report evaluates just
        theirs), including every event acknowledged before the call,
        each evaluated exactly once (``figures``: rows with what each number rests on, for
        the optional report columns).

        ``timeout`` bounds the wait for the tables to catch up with the broker. While the
        assignment moves (a worker joins, leaves or dies), an attempt is abandoned as soon as
        this worker sees the group rebalance, and retried against the new assignment; the
        snapshot fails only after ``Settings.report_unstable_s`` without a change of the
        assignment and without a successful attempt (:class:`StabilityWait`)."""
        wait = StabilityWait(self.settings.report_unstable_s, self.epoch, time.monotonic())
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._unless_reassigned(self._snapshot_once(as_of, timeout,
                                                                         figures, stores))
            except AssignmentChanged as exc:
                now = time.monotonic()
                wait.note(self.epoch, now)
                if wait.exhausted(now):
                    raise SnapshotTimeout(
                        f"no stable assignment within {wait.bound_s:.0f} s "
                        f"(STREAMPROC_REPORT_UNSTABLE_S) after {attempt} attempts: {exc}"
                    ) from exc
                log.warning("snapshot attempt %d: %s; retrying", attempt, exc)
                await asyncio.sleep(min(0.25 * attempt, RETRY_PAUSE_MAX_S))

    async def _unless_reassigned(self, attempt: Awaitable[Snapshot]) -> Snapshot:
        """``attempt``'s result, unless the group rebalances first: then it is cancelled and
        AssignmentChanged raised at once (a peer that is leaving may hold a request open
        until it has stopped; its answer could not be used anyway)."""
        moved = self._moved
        task = asyncio.ensure_future(attempt)
        waiter = asyncio.ensure_future(moved.wait())
        try:
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if task.cancelled():
            raise AssignmentChanged("the group rebalanced during the snapshot")
        return task.result()

    def reassigned(self) -> None:
        """The group rebalanced (partitions revoked or assigned): snapshots under way start
        again against the new assignment."""
        self.epoch += 1
        self._moved.set()
        self._moved = asyncio.Event()

    async def _snapshot_once(self, as_of: int | None, timeout: float,
                             figures: bool = False, stores: list[str] | None = None
                             ) -> Snapshot:
        await self.wait_ready(timeout)
        urls = self.peer_urls()
        if urls and not self.settings.peer_secret:
            raise SnapshotTimeout(NO_PEER_SECRET)
        targets = await self.all_end_offsets()
        events = self.topics["events"].get_topic_name() if "events" in self.topics else None
        if any(off for (t, _), off in targets.items() if t == events):
            # Public events are re-keyed into the other inputs: first wait until every one
            # published before now was forwarded (and acknowledged), then read their ends.
            await self._catch_up_all(urls, {tp: o for tp, o in targets.items()
                                            if tp[0] == events}, timeout)
            targets = await self.all_end_offsets()
        caught = await self._catch_up_all(urls, targets, timeout)
        marks = [part["watermark"] for part in caught.values() if part["watermark"] is not None]
        now = as_of if as_of is not None else (max(marks) if marks else None)
        started = time.monotonic()
        local, answers = await asyncio.gather(
            self.local_part(now, figures, stores),
            self._ask_all(urls, "/internal/rows",
                          {"now": now, "figures": figures, "stores": stores}, timeout))
        rows = _merge_parts(caught, {"": local, **answers})
        waited = max(part["waited_s"] for part in caught.values())
        return Snapshot(rows, now, waited, time.monotonic() - started)

    async def _catch_up_all(self, urls: list[str], targets: dict[TP, int],
                            timeout: float) -> dict[str, dict]:
        """Every worker's catch-up answer ("" = this one), checked to cover each partition."""
        body = {"targets": [[t, p, o] for (t, p), o in targets.items()], "timeout": timeout}
        mine, theirs = await asyncio.gather(
            self.catch_up(targets, timeout),
            self._ask_all(urls, "/internal/catch-up", body, timeout + 5))
        caught = {"": mine, **theirs}
        problem = self._coverage(caught)
        if problem:
            raise AssignmentChanged(problem)
        return caught

    def _coverage(self, caught: dict[str, dict]) -> str | None:
        """Why the workers' catch-up answers do not cover every partition of every input
        topic exactly once (polls, hours and zones alike: a topic partition that nobody
        holds is one nobody waited for); None when they do."""
        for topic in sorted(t.get_topic_name() for t in self.topics.values()):
            held = {key: [p for t, p in part.get("inputs", []) if t == topic]
                    for key, part in caught.items()}
            problem = coverage_problem(held, self.settings.partitions)
            if problem:
                return f"{topic}: {problem}"
        return None

    async def _ask_all(self, urls: list[str], path: str, body: dict, timeout: float) -> dict:
        """POST to every peer; a peer that fails means the group is changing (retry)."""
        try:
            return await peers.post_all(self.app.http_client, urls, path, body, timeout,
                                        self.peer_headers())
        except peers.PeerError as exc:
            raise AssignmentChanged(f"another worker did not answer: {exc}") from exc

    def peer_headers(self) -> dict[str, str]:
        """What a call to another worker's /internal/* carries: the peer secret (never a
        client's token: /internal/* answers the peer secret alone)."""
        secret = self.settings.peer_secret
        return {"Authorization": f"Bearer {secret}"} if secret else {}

    async def close(self) -> None:
        if self._offsets_client is not None:
            await self._offsets_client.stop()
            self._offsets_client = None


class AssignmentChanged(RuntimeError):
    """The partitions moved while a snapshot was assembled: its rows cannot be trusted."""


def _merge_parts(caught: dict[str, dict], parts: dict[str, dict]) -> list[ReportRow]:
    """Every worker's rows, once each, after checking each answered for the partitions and
    the assignment it caught up with."""
    for key, part in parts.items():
        before = caught[key]
        if part["epoch"] != before["epoch"] or list(part["partitions"]) != before["partitions"]:
            who = key or "this worker"
            raise AssignmentChanged(f"the partitions of {who} changed during the snapshot")
    rows = [row if isinstance(row, tuple) else row_from_wire(row)
            for part in parts.values() for row in part["rows"]]
    twice = duplicate_ids([row.store_id for row in rows])
    if twice:
        raise AssignmentChanged(f"stores {twice[:3]} were evaluated twice")
    rows.sort(key=lambda row: row.store_id)
    return rows
