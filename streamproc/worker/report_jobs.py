"""Durable reports: triggered over HTTP, generated in the background, status in a Faust table.

Faust only lets an agent write a table, so every status change is a Kafka message on the
``report-requests`` topic (one partition, key = report id), applied by the ``reports`` agent
to the changelogged ``reports`` table:

* ``request`` (sent by the trigger view): record ``Running`` and start the generation task;
* ``done`` / ``failed`` (sent by the task): record ``Complete`` (rows, now, seconds) or
  ``Failed`` (error);
* ``resume`` (sent by the orphan check): a ``Running`` report with no live task in this
  process (the worker died while it ran) is generated again, at most :data:`MAX_ATTEMPTS`
  times in all, then recorded ``Failed``;
* ``expire`` (sent by the retention check): a report finished longer ago than
  ``Settings.report_retention_h`` loses its CSV file and becomes ``Expired``, so the reports
  folder does not grow without bound.

The agent is idempotent: messages re-delivered after a crash never move a finished report
back to Running. The CSV goes to ``Settings.reports_dir/<id>.csv`` through a temp file and an
atomic rename, so a file that exists is complete.
"""

from __future__ import annotations

import asyncio
import contextvars
import csv
import io
import logging
import os
import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import faust
import orjson
from aiokafka.structs import TopicPartition

from streamproc.core.report_rows import HEADER, ReportRow, write_csv
from streamproc.core.timeparse import to_iso
from streamproc.worker.snapshot import Snapshot, SnapshotTimeout

if TYPE_CHECKING:
    from streamproc.worker.app import Pipeline

log = logging.getLogger("streamproc.worker.report_jobs")

RUNNING, COMPLETE, FAILED, EXPIRED = "Running", "Complete", "Failed", "Expired"
REPORT_ID_RE = re.compile(r"\A[A-Za-z0-9_-]{22}\Z")  # secrets.token_urlsafe(16)
MAX_ATTEMPTS = 2  # a report interrupted by a restart is generated again once, then Failed
ORPHAN_CHECK_S = 3.0  # how often Running reports without a live task are looked for
RESUME_AGAIN_S = 30.0  # a resume message not acted on is re-sent after this long
SNAPSHOT_TIMEOUT_S = 120.0
JSON_CACHE = 16  # finished reports kept parsed for ?format=json
EXPIRE_CHECK_MAX_S = 60.0  # how often finished reports are checked against the retention


def new_report_id() -> str:
    return secrets.token_urlsafe(16)


def is_report_id(text: object) -> bool:
    return isinstance(text, str) and REPORT_ID_RE.match(text) is not None


def expired_ids(records: list[dict[str, Any]], now: datetime, retention_s: float) -> list[str]:
    """Finished reports whose ``completed`` time is more than ``retention_s`` before ``now``."""
    out = []
    for record in records:
        if record.get("status") not in (COMPLETE, FAILED) or not is_report_id(record.get("id")):
            continue
        try:
            completed = datetime.fromisoformat(str(record.get("completed")))
        except ValueError:
            continue
        if completed.tzinfo is None:
            completed = completed.replace(tzinfo=UTC)
        if (now - completed).total_seconds() > retention_s:
            out.append(record["id"])
    return out


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def report_snapshot(pipeline: Pipeline, as_of: int | None) -> Snapshot:
    """The rows of one report: the one place to gather from other workers later."""
    return await pipeline.snapshot(as_of=as_of, timeout=SNAPSHOT_TIMEOUT_S)


def write_report_file(directory: Path, report_id: str, rows: list[ReportRow]) -> int:
    """Write ``<id>.csv`` atomically; return the row count."""
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{report_id}.csv"
    tmp = directory / f".{report_id}.csv.tmp"
    with tmp.open("w", encoding="utf-8", newline="") as f:
        n = write_csv(rows, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, final)
    return n


def csv_to_json_rows(text: str) -> list[dict[str, Any]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or ",".join(header) != HEADER:
        raise ValueError("report file has an unexpected header")
    return [
        {"store_id": r[0], **{k: float(v) for k, v in zip(header[1:], r[1:], strict=True)}}
        for r in reader
    ]


@dataclass
class Lookup:
    """What the API knows about one report id."""

    record: dict[str, Any] | None  # None: unknown
    recovering: bool = False  # unknown, but the table is still being recovered


class ReportService:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.settings = pipeline.settings
        self.directory = pipeline.settings.reports_dir
        self.delay_s = float(os.environ.get("STREAMPROC_REPORT_DELAY", "0") or 0)  # tests only
        app = pipeline.app
        self.topic = app.topic(
            self.settings.topic_reports, partitions=1, key_serializer="raw",
            value_serializer="raw",
        )
        self.table = app.Table(
            "reports", partitions=1, key_type=bytes, value_type=bytes, default=None
        )
        self.pending: dict[str, dict[str, Any]] = {}  # triggered here, not yet in the table
        self.local: dict[str, dict[str, Any]] = {}  # finished here, table not updated yet
        self.tasks: dict[str, asyncio.Task] = {}
        self._resumed_at: dict[str, float] = {}
        self._json_cache: OrderedDict[str, bytes] = OrderedDict()
        self.applied = 0  # next offset of the report-requests partition to apply

        async def reports_agent(stream: faust.StreamT) -> None:
            async for event in stream.events():
                self.applied = max(self.applied, event.message.offset + 1)
                try:
                    self.apply(event.key, event.value)
                except Exception:  # noqa: BLE001 - one bad message must not stop the agent
                    log.exception("report message %r not applied", event.key)

        app.agent(self.topic, name="reports")(reports_agent)
        app.timer(ORPHAN_CHECK_S, name="reports-orphans")(self.resume_orphans)
        self.retention_s = self.settings.report_retention_h * 3600
        check_s = min(EXPIRE_CHECK_MAX_S, max(self.retention_s / 4, 0.5))
        app.timer(check_s, name="reports-expiry")(self.expire_old)

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

    def recovering(self) -> bool:
        return not self.pipeline.app.tables.recovery.completed.is_set()

    async def behind(self) -> bool:
        """Requests acknowledged by the broker but not applied here yet (after a restart the
        last ones are read again): an id not found may still arrive, so it is not unknown."""
        name = self.topic.get_topic_name()
        owned = {(tp.topic, tp.partition) for tp in self.pipeline.app.assignor.assigned_actives()}
        if (name, 0) not in owned:
            return False
        ends = await self.pipeline._ends([TopicPartition(name, 0)])
        return self.applied < ends.get((name, 0), 0)

    # -- the API side ------------------------------------------------------------------

    async def trigger(self, as_of: int | None) -> str:
        """Send the request (waiting for the broker's ack) and return the new id."""
        report_id = new_report_id()
        created = utc_now_iso()
        self.pending[report_id] = {
            "id": report_id, "status": RUNNING, "created": created,
            "as_of": to_iso(as_of) if as_of is not None else None,
        }
        try:
            await self._send(report_id, {"type": "request", "created": created, "as_of": as_of})
        except BaseException:
            self.pending.pop(report_id, None)
            raise
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
        return Lookup(None, recovering=self.recovering())

    def path(self, report_id: str) -> Path:
        if not is_report_id(report_id):  # never build a path from an unchecked id
            raise ValueError("bad report id")
        return self.directory / f"{report_id}.csv"

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

    def listing(self, limit: int) -> list[dict[str, Any]]:
        by_id = {r["id"]: r for r in self.records() if "id" in r}
        for rid, rec in self.pending.items():
            by_id.setdefault(rid, rec)
        for rid, loc in self.local.items():
            if rid in by_id and by_id[rid].get("status") == RUNNING:
                by_id[rid] = {**by_id[rid], **loc}
        out = sorted(by_id.values(), key=lambda r: r.get("created") or "", reverse=True)
        return [public(r) for r in out[:limit]]

    # -- the agent ---------------------------------------------------------------------

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        report_id = key.decode("ascii", "replace") if key else ""
        if not is_report_id(report_id) or value is None:
            log.warning("ignoring report message with key %r", key)
            return
        msg = orjson.loads(value)
        kind = msg.get("type") if isinstance(msg, dict) else None
        record = self._get(report_id)
        if kind in ("request", "resume"):
            self.pending.pop(report_id, None)
            if record is None:
                if kind == "resume":
                    return
                as_of = msg.get("as_of")
                record = {
                    "id": report_id, "status": RUNNING, "created": msg.get("created"),
                    "as_of_us": as_of, "as_of": to_iso(as_of) if as_of is not None else None,
                    "attempts": 1,
                }
                self._put(record)
                self._start(report_id, as_of)
            elif record.get("status") == RUNNING and report_id not in self.tasks:
                attempts = int(record.get("attempts", 1))
                if attempts >= MAX_ATTEMPTS:
                    record.update(status=FAILED, completed=utc_now_iso(),
                                  error=f"interrupted by worker restarts {attempts} times")
                    self._put(record)
                    return
                record["attempts"] = attempts + 1
                self._put(record)
                log.warning("report %s: resuming (attempt %d)", report_id, attempts + 1)
                self._start(report_id, record.get("as_of_us"))
        elif kind in ("done", "failed"):
            base = record or {"id": report_id, "created": msg.get("created")}
            if base.get("status") in (COMPLETE, FAILED):
                self.local.pop(report_id, None)
                return
            if kind == "done":
                base.update(status=COMPLETE, rows=msg.get("rows"), now=msg.get("now"),
                            seconds=msg.get("seconds"), completed=msg.get("completed"))
                base.pop("error", None)
            else:
                base.update(status=FAILED, error=str(msg.get("error") or "failed"),
                            completed=msg.get("completed"))
            self._put(base)
            self.local.pop(report_id, None)
            self._resumed_at.pop(report_id, None)
        elif kind == "expire":
            if record is not None and record.get("status") in (COMPLETE, FAILED):
                self._expire(record)
        else:
            log.warning("ignoring report message of type %r", kind)

    def _expire(self, record: dict[str, Any]) -> None:
        report_id = record["id"]
        self.path(report_id).unlink(missing_ok=True)
        self._json_cache.pop(report_id, None)
        record.update(status=EXPIRED, expired=utc_now_iso())
        self._put(record)

    def _start(self, report_id: str, as_of: int | None) -> None:
        self.local.pop(report_id, None)
        # A fresh context: a task created here would inherit Faust's "current event" (this
        # report message, partition 0), and table reads made under it look only in that
        # partition, so every store of other partitions would read as empty.
        task = asyncio.get_running_loop().create_task(
            self._generate(report_id, as_of), context=contextvars.Context()
        )
        self.tasks[report_id] = task

    # -- generation --------------------------------------------------------------------

    async def _generate(self, report_id: str, as_of: int | None) -> None:
        started = time.monotonic()
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            snap = await report_snapshot(self.pipeline, as_of)
            rows = await asyncio.to_thread(write_report_file, self.directory, report_id,
                                           snap.rows)
            outcome: dict[str, Any] = {
                "type": "done", "rows": rows,
                "now": to_iso(snap.now_us) if snap.now_us is not None else None,
                "seconds": round(time.monotonic() - started, 3), "completed": utc_now_iso(),
            }
            self.local[report_id] = {"status": COMPLETE, **_fields(outcome)}
        except asyncio.CancelledError:  # worker stopping: the orphan check resumes it later
            self.tasks.pop(report_id, None)
            raise
        except SnapshotTimeout as exc:
            outcome = {"type": "failed", "error": str(exc), "completed": utc_now_iso()}
            self.local[report_id] = {"status": FAILED, **_fields(outcome)}
        except Exception as exc:  # noqa: BLE001 - recorded as the report's error
            log.exception("report %s failed", report_id)
            outcome = {"type": "failed", "error": f"{type(exc).__name__}: {exc}",
                       "completed": utc_now_iso()}
            self.local[report_id] = {"status": FAILED, **_fields(outcome)}
        try:
            await self._send(report_id, outcome)
        except Exception:  # noqa: BLE001 - the orphan check re-sends a resume later
            log.exception("report %s: could not record its outcome", report_id)
        finally:
            self.tasks.pop(report_id, None)

    async def _send(self, report_id: str, message: dict[str, Any]) -> None:
        fut = await self.topic.send(key=report_id.encode(), value=orjson.dumps(message))
        await fut  # the broker's ack: once we answer, the message is durable

    async def expire_old(self) -> None:
        """Ask the agent to expire reports past the retention (it alone writes the table)."""
        if self.recovering():
            return
        try:
            for report_id in expired_ids(self.records(), datetime.now(UTC), self.retention_s):
                await self._send(report_id, {"type": "expire"})
        except Exception:  # noqa: BLE001 - a timer that raises would stop for good
            log.exception("report expiry check failed")

    async def resume_orphans(self) -> None:
        """Running reports with no live task here (the worker died while they ran)."""
        try:
            await self._resume_orphans()
        except Exception:  # noqa: BLE001 - a timer that raises would stop for good
            log.exception("orphan report check failed")

    async def _resume_orphans(self) -> None:
        if self.recovering() or not self.pipeline.is_ready():
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


def _fields(outcome: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in outcome.items() if k != "type"}


PUBLIC_FIELDS = ("id", "status", "created", "as_of", "now", "rows", "seconds", "completed",
                 "error", "expired")


def public(record: dict[str, Any]) -> dict[str, Any]:
    """A record as the API shows it (internal fields dropped)."""
    return {k: record[k] for k in PUBLIC_FIELDS if record.get(k) is not None}
