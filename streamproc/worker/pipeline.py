"""What the web views of a worker read and call: one :class:`Pipeline`, assembled whole by
``worker/app.py`` (every part built before it, none filled in later).

The views reach the cluster (ownership, readiness, snapshots: :class:`~streamproc.worker.
cluster.Cluster`), the report jobs, the monitor and the publisher of ``POST /events``
through it, and read the stream's state through its few read methods, never through the
tables behind them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from streamproc.config import Settings
from streamproc.core.event_bodies import Batch
from streamproc.core.state import StoreState
from streamproc.worker.cluster import Cluster
from streamproc.worker.monitoring import Monitor
from streamproc.worker.processing import Processor, Stats
from streamproc.worker.reports import ReportJobs
from streamproc.worker.trends import Trends


@dataclass(frozen=True)
class Pipeline:
    """Everything the worker's web views use."""

    settings: Settings
    cluster: Cluster
    processor: Processor
    reports: ReportJobs
    monitor: Monitor
    # POST /events: send a decoded body's events; the number of messages, once acknowledged.
    publish: Callable[[Batch], Awaitable[int]]
    trends: Trends | None = None  # week-over-week uptime kept per store (store-weeks table)

    def store_state(self, store_id: str) -> StoreState | None:
        """The live state of a store this worker holds; None if it does not know the store."""
        return self.processor.cache.find(store_id)

    def watermark_now(self) -> int | None:
        return self.processor.watermarks.now()

    def stores_live(self) -> int:
        """Stores whose state this worker holds."""
        return len(self.processor.cache)

    @property
    def stats(self) -> Stats:
        """What the stream applied and rejected since this process started."""
        return self.processor.stats

    @property
    def processed(self) -> Mapping[tuple[str, int], int]:
        """The next offset to apply, per input (topic, partition)."""
        return self.processor.processed
