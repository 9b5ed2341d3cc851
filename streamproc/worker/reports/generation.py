"""One report's generation: a consistent snapshot of every store, the CSV, its chunks.

The outcome is the message to record (``done`` with the row and chunk counts, or ``failed``
with the reason); the caller sends it. A snapshot that cannot be had (the tables did not
catch up, no stable assignment within the bound) fails the report with that reason; any
other error too, with its type.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from streamproc.core.report_rows import ReportRow
from streamproc.core.timeparse import to_iso
from streamproc.worker.cluster import ClusterView
from streamproc.worker.reports.files import ReportFiles, chunks_of, csv_text
from streamproc.worker.snapshot import SnapshotTimeout

log = logging.getLogger("streamproc.worker.reports")

SNAPSHOT_TIMEOUT_S = 120.0  # how long the tables may take to catch up with the broker
SendFn = Callable[[str, dict[str, Any]], Awaitable[None]]  # (report id, message), acked


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def only(rows: list[ReportRow], stores: list[str]) -> list[ReportRow]:
    """The rows of ``stores`` (an owner's report)."""
    wanted = set(stores)
    return [row for row in rows if row.store_id in wanted]


class ReportGenerator:
    """Makes report files from snapshots of the cluster."""

    def __init__(self, cluster: ClusterView, files: ReportFiles, send: SendFn,
                 delay_s: float = 0.0) -> None:
        self.cluster = cluster
        self.files = files
        self.send = send
        self.delay_s = delay_s  # tests only: a report that takes a while

    async def outcome(self, report_id: str, as_of: int | None, columns: tuple[str, ...] = (),
                      stores: list[str] | None = None) -> dict[str, Any]:
        """Generate the report file (the rows of ``stores`` only, when given: an owner's):
        the ``done`` or ``failed`` message to record."""
        started = time.monotonic()
        try:
            rows, now, chunks = await self._make(report_id, as_of, columns, stores)
        except SnapshotTimeout as exc:
            return {"type": "failed", "error": str(exc), "completed": utc_now_iso()}
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - recorded as the report's error
            log.exception("report %s failed", report_id)
            return {"type": "failed", "error": f"{type(exc).__name__}: {exc}",
                    "completed": utc_now_iso()}
        return {
            "type": "done", "rows": rows, "chunks": chunks,
            "now": to_iso(now) if now is not None else None,
            "seconds": round(time.monotonic() - started, 3), "completed": utc_now_iso(),
        }

    async def _make(self, report_id: str, as_of: int | None, columns: tuple[str, ...],
                    stores: list[str] | None) -> tuple[int, int | None, int]:
        """Snapshot, file and chunk messages: (rows, the snapshot's now, chunks)."""
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        snap = await self.cluster.snapshot(as_of=as_of, timeout=SNAPSHOT_TIMEOUT_S,
                                           figures=bool(columns), stores=stores)
        rows = snap.rows if stores is None else only(snap.rows, stores)
        text = await asyncio.to_thread(csv_text, rows, columns)
        await asyncio.to_thread(self.files.write, report_id, text)
        chunks = chunks_of(text)
        for n, data in enumerate(chunks):
            await self.send(report_id, {"type": "chunk", "n": n, "data": data})
        return len(rows), snap.now_us, len(chunks)
