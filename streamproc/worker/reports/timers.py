"""The report timers: Running reports whose task died are resumed, finished ones expire.

Only the agent writes the ``reports`` table, so both timers act by sending messages: a
``resume`` for a Running report with no live task (its worker died; the agent of the
worker holding the partition now generates it again), ``expire`` for reports past the
retention or the count, ``purge`` for Expired records kept long enough.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from streamproc.config import Settings
from streamproc.core.report_lifecycle import RUNNING, expired_ids, is_report_id, purge_ids
from streamproc.worker.cluster import ClusterView
from streamproc.worker.reports.files import ReportFiles
from streamproc.worker.reports.generation import SendFn

log = logging.getLogger("streamproc.worker.reports")

ORPHAN_CHECK_S = 3.0  # how often Running reports without a live task are looked for
RESUME_AGAIN_S = 30.0  # a resume message not acted on is re-sent after this long
EXPIRE_CHECK_MAX_S = 10.0  # how often finished reports are checked (retention and count)


@dataclass
class ReportTimers:
    """What the two timers do; their collaborators are passed in by the report jobs."""

    settings: Settings
    cluster: ClusterView
    files: ReportFiles
    records: Callable[[], list[dict[str, Any]]]
    running_here: Callable[[str], bool]  # a generation task of this id runs here
    holds_reports: Callable[[], bool]  # this worker applies the report messages
    send: SendFn
    send_each: Callable[[list[str], str], Awaitable[None]]
    _resumed_at: dict[str, float] = field(default_factory=dict)

    @property
    def retention_s(self) -> float:
        return self.settings.report_retention_h * 3600

    @property
    def expire_check_s(self) -> float:
        """How often the expiry timer runs: often enough for short test retentions."""
        return min(EXPIRE_CHECK_MAX_S, max(self.retention_s / 4, 0.5))

    def forget(self, report_id: str) -> None:
        """The report finished: no resume is pending for it."""
        self._resumed_at.pop(report_id, None)

    async def expire_old(self) -> None:
        """Ask the agent to expire reports past the retention or the count, and to delete
        Expired records kept as long again; then remove this worker's stale report files."""
        try:
            self.files.sweep(self.retention_s, self.settings.reports_max)
            if self.cluster.recovering() or not self.holds_reports():
                return
            records, now = self.records(), datetime.now(UTC)
            keep = self.settings.report_quota.keep_for  # per principal: never another's
            keep_s = self.settings.expired_keep_h * 3600
            await self.send_each(expired_ids(records, now, self.retention_s, keep), "expire")
            await self.send_each(purge_ids(records, now, keep_s, keep), "purge")
        except Exception:  # noqa: BLE001 - a timer that raises would stop for good
            log.exception("report expiry check failed")

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
            if record.get("status") != RUNNING or not is_report_id(rid) or self.running_here(rid):
                continue
            if now - self._resumed_at.get(rid, -RESUME_AGAIN_S) < RESUME_AGAIN_S:
                continue
            self._resumed_at[rid] = now
            try:
                await self.send(rid, {"type": "resume"})
            except Exception:  # noqa: BLE001 - tried again on the next tick
                log.exception("report %s: could not send resume", rid)
                self._resumed_at.pop(rid, None)
