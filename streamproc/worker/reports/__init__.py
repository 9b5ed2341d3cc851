"""Durable reports (see :mod:`.jobs`): what the worker's app declares and the views call."""

from __future__ import annotations

from streamproc.worker.reports.jobs import Lookup, ReportJobs
from streamproc.worker.reports.timers import ORPHAN_CHECK_S

__all__ = ["ORPHAN_CHECK_S", "Lookup", "ReportJobs"]
