"""Durable reports: triggered over HTTP, generated in the background, kept in a Faust table.

The rules live in :mod:`streamproc.core.report_lifecycle` (a pure ``next_step``); this is
its shell. Faust only lets an agent write a table, so every change of a report is a message
on the ``report-requests`` topic (one partition, key = report id) that :meth:`ReportJobs.
consume` applies: it asks ``next_step`` what to do, writes the record and acts (starts a
generation task, forgets a local outcome, deletes an expired file). Two timers send
``resume`` for Running reports whose task died with a worker and ``expire`` for reports past
``Settings.report_retention_h``. The topic, table, agent and timers are declared by
``streamproc.worker.app``.

The CSV goes to ``Settings.reports_dir/<id>.csv`` through a temp file and an atomic rename,
so a file that exists is complete. Its text is also sent in ``chunk`` messages and kept in
the changelogged ``report-files`` table: when the worker that made it dies, the one that
takes the report partition over writes the file again from there. Only the worker holding
that partition (the "report owner") answers the report API; the views forward requests to it.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faust
import orjson
from aiokafka.structs import TopicPartition

from streamproc.config import Settings
from streamproc.core import access
from streamproc.core import report_lifecycle as lifecycle
from streamproc.core.access import Principal, RateLimit
from streamproc.core.report_lifecycle import (
    COMPLETE,
    FAILED,
    RUNNING,
    csv_to_json_rows,
    expired_ids,
    is_report_id,
    new_report_id,
    public,
    purge_ids,
    stale_files,
)
from streamproc.core.report_rows import ReportRow, write_csv
from streamproc.core.timeparse import to_iso
from streamproc.worker import faust_compat
from streamproc.worker.cluster import ClusterView
from streamproc.worker.snapshot import SnapshotTimeout

log = logging.getLogger("streamproc.worker.report_jobs")

__all__ = ["ReportJobs", "Lookup", "public", "is_report_id", "COMPLETE", "FAILED", "RUNNING",
           "expired_ids"]
ORPHAN_CHECK_S = 3.0  # how often Running reports without a live task are looked for
RESUME_AGAIN_S = 30.0  # a resume message not acted on is re-sent after this long
SNAPSHOT_TIMEOUT_S = 120.0
CHUNK_CHARS = 256 * 1024  # CSV text per chunk message (Kafka's default limit is 1 MB)
JSON_CACHE = 16  # finished reports kept parsed for ?format=json
EXPIRE_CHECK_MAX_S = 10.0  # how often finished reports are checked (retention and count)
COALESCE_KEYS = 1000  # recent triggers remembered for coalescing






def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")




def csv_text(rows: list[ReportRow], columns: tuple[str, ...] = ()) -> str:
    buf = io.StringIO()
    write_csv(rows, buf, columns)
    return buf.getvalue()


def write_text_file(directory: Path, report_id: str, text: str) -> None:
    """Write ``<id>.csv`` atomically (a temp file, fsync, rename)."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{report_id}.csv"
    tmp = directory / f".{report_id}.csv.tmp"
    with tmp.open("w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, final)


def _only(rows: list[ReportRow], stores: list[str]) -> list[ReportRow]:
    """The rows of ``stores`` (an owner's report)."""
    wanted = set(stores)
    return [row for row in rows if row.store_id in wanted]


def _chunk_key(report_id: str, n: int) -> bytes:
    return f"{report_id}/{n}".encode()


@dataclass
class Lookup:
    """What the API knows about one report id."""

    record: dict[str, Any] | None  # None: unknown
    recovering: bool = False  # unknown, but the table is still being recovered


class ReportJobs:
    """Report records (a Faust table), their generation tasks and the report files."""

    def __init__(self, settings: Settings, cluster: ClusterView, topic: faust.TopicT,
                 table: faust.Table, files: faust.Table) -> None:
        self.cluster = cluster
        self.files = files  # "<id>/<n>" -> a chunk of the report's CSV text
        self.settings = settings
        self.directory = settings.reports_dir
        self.topic = topic
        self.table = table
        self.delay_s = self.settings.report_delay_s
        self.retention_s = self.settings.report_retention_h * 3600
        self.pending: dict[str, dict[str, Any]] = {}  # triggered here, not yet in the table
        self.local: dict[str, dict[str, Any]] = {}  # finished here, table not updated yet
        self.tasks: dict[str, asyncio.Task] = {}
        self._resumed_at: dict[str, float] = {}
        self._json_cache: OrderedDict[str, bytes] = OrderedDict()
        self.applied = 0  # next offset of the report-requests partition to apply
        # Limits (README, "Limits"): generations at once, triggers per caller, and identical
        # triggers (same caller, scope, as_of and watermark) answered with one report.
        self.running = asyncio.Semaphore(max(1, self.settings.report_max_running))
        self.rate = RateLimit(self.settings.trigger_per_minute, self.settings.trigger_burst)
        self._coalesce: dict[str, str] = {}  # coalesce key -> id of a Running report

    @property
    def expire_check_s(self) -> float:
        """How often the expiry timer runs: often enough for short test retentions."""
        return min(EXPIRE_CHECK_MAX_S, max(self.retention_s / 4, 0.5))

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

    # -- the API side ------------------------------------------------------------------

    async def trigger(self, as_of: int | None, columns: tuple[str, ...] = (),
                      principal: Principal = access.OPERATOR_PRINCIPAL) -> str:
        """Send the request (waiting for the broker's ack) and return the new id, or the id
        of a Running report the same caller triggered at the same watermark, as_of and
        columns; ``columns``: the optional columns (already checked) to add to the seven."""
        key = access.coalesce_key(principal, as_of, self.cluster.watermark_now())
        key += "|" + ",".join(columns)
        same = self._coalesce.get(key)
        if same is not None and (self.lookup(same).record or {}).get("status") == RUNNING:
            return same
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
        self._coalesce[key] = report_id
        while len(self._coalesce) > COALESCE_KEYS:  # the oldest first: bounded, O(1) a call
            del self._coalesce[next(iter(self._coalesce))]
        return report_id

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

    def path(self, report_id: str) -> Path:
        if not is_report_id(report_id):  # never build a path from an unchecked id
            raise ValueError("bad report id")
        return self.directory / f"{report_id}.csv"

    def csv_path(self, report_id: str, record: dict[str, Any]) -> Path | None:
        """The finished report's file, written again from its chunks if this worker lacks it
        (it took the report partition over); None if neither exists."""
        path = self.path(report_id)
        if path.is_file():
            return path
        chunks = [self.files.get(_chunk_key(report_id, n)) for n in range(record.get("chunks", 0))]
        if not chunks or any(c is None for c in chunks):
            return None
        write_text_file(self.directory, report_id, b"".join(chunks).decode("utf-8"))
        return path

    def json_rows(self, report_id: str) -> bytes:
        """The report as a JSON array of row objects (parsed once, then cached)."""
        cached = self._json_cache.get(report_id)
        if cached is not None:
            self._json_cache.move_to_end(report_id)
            return cached
        rows = csv_to_json_rows(self.path(report_id).read_text(encoding="utf-8"))
        body = orjson.dumps(rows)
        self._json_cache[report_id] = body
        while len(self._json_cache) > JSON_CACHE:
            self._json_cache.popitem(last=False)
        return body

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
        return [public(r) for r in out[:limit]]

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
        if not is_report_id(report_id) or value is None:
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
            self._resumed_at.pop(report_id, None)
        elif step.action == lifecycle.STORE_CHUNK:
            self.files[_chunk_key(report_id, message["n"])] = message["data"].encode("utf-8")
        elif step.action == lifecycle.DELETE_FILE:
            self.path(report_id).unlink(missing_ok=True)
            self._json_cache.pop(report_id, None)
            for n in range(step.record.get("chunks") or 0):
                self.files.pop(_chunk_key(report_id, n), None)  # a tombstone in the changelog
        elif step.action == lifecycle.DELETE_RECORD:
            self.table.pop(report_id.encode(), None)  # a tombstone in the changelog
        elif step.action == lifecycle.IGNORE:
            log.warning("report %s: %s", report_id, step.reason)

    def _start(self, report_id: str, as_of: int | None, columns: tuple[str, ...] = (),
               stores: list[str] | None = None) -> None:
        self.local.pop(report_id, None)
        self.tasks[report_id] = faust_compat.fresh_task(
            self._generate(report_id, as_of, columns, stores))

    # -- generation --------------------------------------------------------------------

    async def _generate(self, report_id: str, as_of: int | None,
                        columns: tuple[str, ...] = (), stores: list[str] | None = None) -> None:
        try:
            async with self.running:  # at most report_max_running generations at once
                outcome = await self._outcome(report_id, as_of, columns, stores)
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

    async def _outcome(self, report_id: str, as_of: int | None,
                       columns: tuple[str, ...] = (),
                       stores: list[str] | None = None) -> dict[str, Any]:
        """Generate the report file (the rows of ``stores`` only, when given: an owner's):
        the ``done`` or ``failed`` message to record."""
        started = time.monotonic()
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            snap = await self.cluster.snapshot(as_of=as_of, timeout=SNAPSHOT_TIMEOUT_S,
                                                figures=bool(columns))
            rows = snap.rows if stores is None else _only(snap.rows, stores)
            text = await asyncio.to_thread(csv_text, rows, columns)
            await asyncio.to_thread(write_text_file, self.directory, report_id, text)
            chunks = [text[i:i + CHUNK_CHARS] for i in range(0, len(text), CHUNK_CHARS)]
            for n, data in enumerate(chunks):
                await self._send(report_id, {"type": "chunk", "n": n, "data": data})
        except SnapshotTimeout as exc:
            return {"type": "failed", "error": str(exc), "completed": utc_now_iso()}
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - recorded as the report's error
            log.exception("report %s failed", report_id)
            return {"type": "failed", "error": f"{type(exc).__name__}: {exc}",
                    "completed": utc_now_iso()}
        return {
            "type": "done", "rows": len(rows), "chunks": len(chunks),
            "now": to_iso(snap.now_us) if snap.now_us is not None else None,
            "seconds": round(time.monotonic() - started, 3), "completed": utc_now_iso(),
        }

    async def _send_each(self, report_ids: list[str], kind: str) -> None:
        """One ``kind`` message per id, all sent before waiting for the acks (thousands of
        reports due at once must not take a broker round trip each)."""
        value = orjson.dumps({"type": kind})
        acks = [await self.topic.send(key=rid.encode(), value=value) for rid in report_ids]
        await asyncio.gather(*acks)

    async def _send(self, report_id: str, message: dict[str, Any]) -> None:
        fut = await self.topic.send(key=report_id.encode(), value=orjson.dumps(message))
        await fut  # the broker's ack: once we answer, the message is durable

    # -- timers ------------------------------------------------------------------------

    async def expire_old(self) -> None:
        """Ask the agent to expire reports past the retention or the count, and to delete
        Expired records kept as long again (it alone writes the table); then remove this
        worker's stale report files."""
        try:
            self.sweep_files()
            if self.cluster.recovering() or not self._holds_reports():
                return
            records, now, keep = self.records(), datetime.now(UTC), self.settings.reports_max
            keep_s = self.settings.expired_keep_h * 3600
            await self._send_each(expired_ids(records, now, self.retention_s, keep), "expire")
            await self._send_each(purge_ids(records, now, keep_s, keep), "purge")
        except Exception:  # noqa: BLE001 - a timer that raises would stop for good
            log.exception("report expiry check failed")

    def _holds_reports(self) -> bool:
        """This worker applies the report messages (a standby's copy would send them too)."""
        name = self.topic.get_topic_name()
        return any(tp.topic == name for tp in self.cluster.assigned())

    def sweep_files(self) -> None:
        """Delete report files older than the retention or beyond the newest reports_max,
        and temp files left by a crash (every worker: any may have written copies)."""
        if not self.directory.is_dir():
            return
        files, now = [], time.time()
        for entry in os.scandir(self.directory):
            if entry.name.endswith(".csv.tmp") and now - entry.stat().st_mtime > 3600:
                Path(entry.path).unlink(missing_ok=True)
            elif entry.name.endswith(".csv") and is_report_id(entry.name[:-4]):
                files.append((entry.name, entry.stat().st_mtime))
        for name in stale_files(files, now, self.retention_s, self.settings.reports_max):
            (self.directory / name).unlink(missing_ok=True)
            self._json_cache.pop(name[:-4], None)

    async def resume_orphans(self) -> None:
        """Running reports with no live task here (the worker died while they ran)."""
        try:
            await self._resume_orphans()
        except Exception:  # noqa: BLE001 - a timer that raises would stop for good
            log.exception("orphan report check failed")

    async def _resume_orphans(self) -> None:
        if self.cluster.recovering() or not self.cluster.is_ready():
            return
        now = time.monotonic()
        for record in self.records():
            rid = record.get("id")
            if record.get("status") != RUNNING or not is_report_id(rid) or rid in self.tasks:
                continue
            if now - self._resumed_at.get(rid, -RESUME_AGAIN_S) < RESUME_AGAIN_S:
                continue
            self._resumed_at[rid] = now
            try:
                await self._send(rid, {"type": "resume"})
            except Exception:  # noqa: BLE001 - tried again on the next tick
                log.exception("report %s: could not send resume", rid)
                self._resumed_at.pop(rid, None)
