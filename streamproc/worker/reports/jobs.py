"""Durable reports: triggered over HTTP, generated in the background, kept in a Faust table.

The rules live in :mod:`streamproc.core.report_lifecycle` (a pure ``next_step``); this is
its shell. Faust only lets an agent write a table, so every change of a report is a message
on the ``report-requests`` topic (one partition, key = report id) that :meth:`ReportJobs.
consume` applies: it asks ``next_step`` what to do, writes the record and acts (starts a
generation task, forgets a local outcome, deletes an expired file). Only the worker holding
that partition (the "report owner") answers the report API; the views forward requests to
it. The parts: :mod:`.files` (where reports live), :mod:`.generation` (one report),
:mod:`.timers` (resume and expiry), :mod:`.coalescing` (identical triggers).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust
import orjson
from aiokafka.structs import TopicPartition

from streamproc.config import Settings
from streamproc.core import access, report_quota
from streamproc.core import report_lifecycle as lifecycle
from streamproc.core.access import Principal, RateLimit
from streamproc.core.report_lifecycle import COMPLETE, FAILED, RUNNING, new_report_id, public
from streamproc.core.timeparse import to_iso
from streamproc.worker import faust_compat
from streamproc.worker.cluster import ClusterView
from streamproc.worker.reports.coalescing import Coalescer
from streamproc.worker.reports.files import ReportFiles
from streamproc.worker.reports.generation import ReportGenerator, utc_now_iso
from streamproc.worker.reports.timers import ReportTimers

log = logging.getLogger("streamproc.worker.reports")


@dataclass
class Lookup:
    """What the API knows about one report id."""

    record: dict[str, Any] | None  # None: unknown
    recovering: bool = False  # unknown, but the table is still being recovered


class ReportJobs:
    """Report records (a Faust table), their generation tasks and the report files."""

    def __init__(self, settings: Settings, cluster: ClusterView, topic: faust.TopicT,
                 table: faust.Table, chunks: faust.Table) -> None:
        self.settings = settings
        self.cluster = cluster
        self.topic = topic
        self.table = table
        self.files = ReportFiles(settings.reports_dir, chunks)
        self.generator = ReportGenerator(cluster, self.files, self._send,
                                         settings.report_delay_s)
        self.timers = ReportTimers(settings, cluster, self.files, self.records,
                                   running_here=lambda rid: rid in self.tasks,
                                   holds_reports=self._holds_reports, send=self._send,
                                   send_each=self._send_each)
        self.pending: dict[str, dict[str, Any]] = {}  # triggered here, not yet in the table
        self.local: dict[str, dict[str, Any]] = {}  # finished here, table not updated yet
        self.tasks: dict[str, asyncio.Task] = {}
        self.applied = 0  # next offset of the report-requests partition to apply
        # Limits (README, "Limits"): generations at once, triggers per caller, and identical
        # triggers (same caller, scope, as_of and watermark) answered with one report.
        self.running = asyncio.Semaphore(max(1, settings.report_max_running))
        self.rate = RateLimit(settings.trigger_per_minute, settings.trigger_burst)
        self.coalescer = Coalescer()

    # -- table access ------------------------------------------------------------------

    def _get(self, report_id: str) -> dict[str, Any] | None:
        raw = self.table.get(report_id.encode())
        return None if raw is None else orjson.loads(raw)

    def _put(self, record: dict[str, Any]) -> None:  # only from the agent
        self.table[record["id"].encode()] = orjson.dumps(record)

    def records(self) -> list[dict[str, Any]]:
        out = []
        for raw in self.table.values():
            if raw is not None:
                try:
                    out.append(orjson.loads(raw))
                except orjson.JSONDecodeError:
                    continue
        return out

    async def behind(self) -> bool:
        """Requests acknowledged by the broker but not applied here yet (after a restart the
        last ones are read again): an id not found may still arrive, so it is not unknown."""
        name = self.topic.get_topic_name()
        if name not in {tp.topic for tp in self.cluster.assigned()}:
            return False
        ends = await self.cluster.end_offsets_of([TopicPartition(name, 0)])
        return self.applied < ends.get((name, 0), 0)

    def _holds_reports(self) -> bool:
        """This worker applies the report messages (a standby's copy would send them too)."""
        name = self.topic.get_topic_name()
        return any(tp.topic == name for tp in self.cluster.assigned())

    # -- the API side ------------------------------------------------------------------

    async def trigger(self, as_of: int | None, columns: tuple[str, ...] = (),
                      principal: Principal = access.OPERATOR_PRINCIPAL) -> str:
        """Send the request (waiting for the broker's ack) and return the new id, or the id
        of a Running report the same caller triggered at the same watermark, as_of and
        columns; ``columns``: the optional columns (already checked) to add to the seven."""
        key = access.coalesce_key(principal, as_of, self.cluster.watermark_now())
        key += "|" + ",".join(columns)
        same = self.coalescer.running(key, self._is_running)
        if same is not None:
            return same
        if not principal.is_operator:  # the operator is never refused: skip the count
            refused = report_quota.running_refusal(principal.key, self._current(),
                                                   self.settings.report_quota)
            if refused is not None:
                raise report_quota.TooManyRunning(refused)
        report_id = new_report_id()
        created = utc_now_iso()
        self.pending[report_id] = {
            "id": report_id, "status": RUNNING, "created": created, "owner": principal.key,
            "as_of": to_iso(as_of) if as_of is not None else None,
        }
        try:
            message = {"type": "request", "created": created, "as_of": as_of,
                       "owner": principal.key, "stores": access.report_scope(principal)}
            if columns:
                message["columns"] = list(columns)
            await self._send(report_id, message)
        except BaseException:
            self.pending.pop(report_id, None)
            raise
        self.coalescer.remember(key, report_id)
        return report_id

    def _current(self) -> list[dict[str, Any]]:
        """Every record as it stands now: the table's, with outcomes known here but not yet
        applied, and the requests sent from here but not yet applied."""
        out = [{**r, **self.local.get(r.get("id"), {})} for r in self.records()]
        return out + [r for rid, r in self.pending.items() if self._get(rid) is None]

    def _is_running(self, report_id: str) -> bool:
        return (self.lookup(report_id).record or {}).get("status") == RUNNING

    def lookup(self, report_id: str) -> Lookup:
        record = self._get(report_id)
        if record is not None and record.get("status") != RUNNING:
            return Lookup(record)
        local = self.local.get(report_id)
        if local is not None:
            return Lookup({**(record or {}), **local})
        if record is not None:
            return Lookup(record)
        if report_id in self.pending:
            return Lookup(dict(self.pending[report_id]))
        return Lookup(None, recovering=self.cluster.recovering())

    def csv_path(self, report_id: str, record: dict[str, Any]) -> Path | None:
        """The finished report's file (written again from its chunks if need be)."""
        return self.files.csv_path(report_id, record.get("chunks", 0))

    def json_rows(self, report_id: str) -> bytes:
        return self.files.json_rows(report_id)

    def listing(self, limit: int, principal: Principal = access.OPERATOR_PRINCIPAL
                ) -> list[dict[str, Any]]:
        """The newest ``limit`` reports the principal may see."""
        by_id = {r["id"]: r for r in self.records()
                 if "id" in r and access.may_see_report(principal, r)}
        for rid, rec in self.pending.items():
            if access.may_see_report(principal, rec):
                by_id.setdefault(rid, rec)
        for rid, loc in self.local.items():
            if rid in by_id and by_id[rid].get("status") == RUNNING:
                by_id[rid] = {**by_id[rid], **loc}
        out = sorted(by_id.values(), key=lambda r: r.get("created") or "", reverse=True)
        return [public(r, principal.is_operator) for r in out[:limit]]

    # -- the agent ---------------------------------------------------------------------

    async def consume(self, stream: faust.StreamT) -> None:
        """The ``reports`` agent: apply each report message in order."""
        async for event in stream.events():
            self.applied = max(self.applied, event.message.offset + 1)
            try:
                self.apply(event.key, event.value)
            except Exception:  # noqa: BLE001 - one bad message must not stop the agent
                log.exception("report message %r not applied", event.key)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """One message: ``next_step`` decides, this writes the record and acts."""
        report_id = key.decode("ascii", "replace") if key else ""
        if not lifecycle.is_report_id(report_id) or value is None:
            log.warning("ignoring report message with key %r", key)
            return
        message = orjson.loads(value)
        if isinstance(message, dict) and message.get("type") in ("request", "resume"):
            self.pending.pop(report_id, None)
        step = lifecycle.next_step(report_id, self._get(report_id), message,
                                   running_here=report_id in self.tasks, now_iso=utc_now_iso())
        if step.record is not None:
            self._put(step.record)
        self._act(report_id, step, message)

    def _act(self, report_id: str, step: lifecycle.Step, message: Any) -> None:
        if step.action == lifecycle.GENERATE:
            if step.record.get("attempts", 1) > 1:
                log.warning("report %s: resuming (attempt %d)", report_id, step.record["attempts"])
            self._start(report_id, step.as_of_us, step.columns, step.record.get("stores"))
        elif step.action == lifecycle.FORGET_LOCAL:
            self.local.pop(report_id, None)
            self.timers.forget(report_id)
        elif step.action == lifecycle.STORE_CHUNK:
            self.files.store_chunk(report_id, message["n"], message["data"])
        elif step.action == lifecycle.DELETE_FILE:
            self.files.delete(report_id, step.record.get("chunks") or 0)
        elif step.action == lifecycle.DELETE_RECORD:
            self.table.pop(report_id.encode(), None)  # a tombstone in the changelog
        elif step.action == lifecycle.IGNORE:
            log.warning("report %s: %s", report_id, step.reason)

    def _start(self, report_id: str, as_of: int | None, columns: tuple[str, ...] = (),
               stores: list[str] | None = None) -> None:
        self.local.pop(report_id, None)
        self.tasks[report_id] = faust_compat.fresh_task(
            self._generate(report_id, as_of, columns, stores))

    async def _generate(self, report_id: str, as_of: int | None,
                        columns: tuple[str, ...] = (), stores: list[str] | None = None) -> None:
        """Generate (at most ``report_max_running`` at once) and record the outcome."""
        try:
            async with self.running:
                outcome = await self.generator.outcome(report_id, as_of, columns, stores)
        except asyncio.CancelledError:  # worker stopping: the orphan check resumes it later
            self.tasks.pop(report_id, None)
            raise
        if outcome["type"] == "failed" and self.cluster.stopping():
            # Failed because this worker is going away (its peers or its own state refused):
            # left Running, the worker that takes the report partition resumes it.
            self.tasks.pop(report_id, None)
            return
        self.local[report_id] = {
            "status": COMPLETE if outcome["type"] == "done" else FAILED,
            **{k: v for k, v in outcome.items() if k != "type"},
        }
        try:
            await self._send(report_id, outcome)
        except Exception:  # noqa: BLE001 - the orphan check re-sends a resume later
            log.exception("report %s: could not record its outcome", report_id)
        finally:
            self.tasks.pop(report_id, None)

    async def _send_each(self, report_ids: list[str], kind: str) -> None:
        """One ``kind`` message per id, all sent before waiting for the acks (thousands of
        reports due at once must not take a broker round trip each)."""
        value = orjson.dumps({"type": kind})
        acks = [await self.topic.send(key=rid.encode(), value=value) for rid in report_ids]
        await asyncio.gather(*acks)

    async def _send(self, report_id: str, message: dict[str, Any]) -> None:
        fut = await self.topic.send(key=report_id.encode(), value=orjson.dumps(message))
        await fut  # the broker's ack: once we answer, the message is durable
