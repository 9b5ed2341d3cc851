"""`GET /metrics`: Prometheus text format (process counters plus figures read from the
running pipeline at scrape time)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from streamproc import metrics
from streamproc.web.http import pipeline_of

if TYPE_CHECKING:
    from streamproc.worker.pipeline import Pipeline


class PipelineCollector:
    """Figures read from the running pipeline at scrape time."""

    def __init__(self, pipeline: Pipeline, lag: dict, fleet: tuple | None):
        self.pipeline, self.lag, self.fleet = pipeline, lag, fleet

    def collect(self):
        stats = self.pipeline.stats
        c = CounterMetricFamily("streamproc_messages_consumed",
                                "Kafka messages applied, by topic.", labels=["topic"])
        for topic, n in sorted(stats.messages.items()):
            c.add_metric([topic], n)
        yield c
        yield CounterMetricFamily("streamproc_polls_applied", "Polls applied.",
                                  value=stats.polls)
        yield CounterMetricFamily("streamproc_polls_late_dropped",
                                  "Polls older than the retention, dropped.",
                                  value=stats.late_dropped)
        r = CounterMetricFamily("streamproc_rejected_messages",
                                "Messages sent to the dead-letter topic, by topic and reason.",
                                labels=["topic", "reason"])
        for key, n in sorted(stats.rejected.items()):
            topic, _, reason = key.partition(":")
            r.add_metric([topic, reason], n)
        yield r
        lag = GaugeMetricFamily("streamproc_consumer_lag",
                                "Messages in the topic not yet processed by this worker.",
                                labels=["topic", "partition"])
        for (topic, partition), n in sorted(self.lag.items()):
            lag.add_metric([topic, str(partition)], n)
        yield lag
        now = self.pipeline.watermark_now()
        yield GaugeMetricFamily("streamproc_watermark_seconds",
                                "Event-time now: the largest poll timestamp (Unix seconds).",
                                value=(now or 0) / 1e6)
        yield GaugeMetricFamily("streamproc_stores_live",
                                "Stores with a live state in this worker's memory.",
                                value=self.pipeline.stores_live())
        if self.fleet is not None:
            yield GaugeMetricFamily("streamproc_stores_tracked",
                                    "Stores in this worker's partitions.", value=self.fleet[0])
            yield GaugeMetricFamily("streamproc_stores_down",
                                    "Stores whose latest observation is inactive.",
                                    value=self.fleet[1])
        yield GaugeMetricFamily("streamproc_ready",
                                "1 when partitions are assigned and tables recovered.",
                                value=1 if self.pipeline.cluster.is_ready() else 0)


async def consumer_lag(pipeline: Pipeline) -> dict:
    """End offset minus the next offset to process, per input partition of this worker."""
    try:
        ends = await asyncio.wait_for(pipeline.cluster.end_offsets(), 5)
        processed = pipeline.processed
        base = {}
        if any(tp not in processed for tp in ends):  # nothing consumed since the start
            base = await asyncio.wait_for(pipeline.cluster.committed(), 5)
    except Exception:  # noqa: BLE001 - no lag figures rather than no metrics
        return {}
    return {tp: max(end - max(processed.get(tp, 0), base.get(tp, 0)), 0)
            for tp, end in ends.items()}


async def metrics_view(request: web.Request) -> web.Response:
    pipeline = pipeline_of(request)
    lag = await consumer_lag(pipeline)
    _, rows = await pipeline.monitor.fleet.rows()
    fleet = (len(rows), sum(1 for r in rows if r[1] == "inactive"))
    extra = CollectorRegistry(auto_describe=False)
    extra.register(PipelineCollector(pipeline, lag, fleet))
    return web.Response(body=metrics.render([extra]),
                        headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/metrics", metrics_view)
