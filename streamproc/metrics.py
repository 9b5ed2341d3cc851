"""Process-wide Prometheus metrics that any module can record into (served on `GET /metrics`).

Call these from anywhere in the worker; they never raise and cost a few hundred ns:

* :func:`observe_report` / :func:`time_report` - how long a report took (the report API),
* :func:`count_outage_event`, :func:`count_alert` - outage stream and webhook alerts,
* :func:`set_live_clients` - connected `/live` clients.

Figures that already live elsewhere (events consumed, rejections, lag, watermark, stores)
are read at scrape time by :class:`streamproc.web.live.PipelineCollector`, not copied here.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)

REPORT_SECONDS = Histogram(
    "streamproc_report_duration_seconds",
    "Wall time to produce a report, by kind (e.g. report, snapshot) and outcome.",
    ["kind", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
    registry=REGISTRY,
)
OUTAGE_EVENTS = Counter(
    "streamproc_outage_events", "Outage events published by this worker, by kind.",
    ["kind"], registry=REGISTRY,
)
ALERTS = Counter(
    "streamproc_alerts", "Webhook alerts, by type (outage, recovery) and outcome.",
    ["type", "outcome"], registry=REGISTRY,
)
LIVE_CLIENTS = Gauge(
    "streamproc_live_clients", "Clients connected to GET /live.", registry=REGISTRY,
)
LOOP_LAG = Histogram(
    "streamproc_loop_lag_seconds",
    "How late the event loop's heartbeat (every 0.1 s) came: time the loop was held.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10),
    registry=REGISTRY,
)
SKIPPED_RECORDS = Counter(
    "streamproc_consumer_skipped_records",
    "Times records of a topic without gaps were found skipped on their way from the broker, "
    "by outcome (read again; gone: not on the broker any more).",
    ["topic", "outcome"], registry=REGISTRY,
)
LIVE_DROPPED = Counter(
    "streamproc_live_dropped_clients", "GET /live clients dropped for reading too slowly.",
    registry=REGISTRY,
)


def observe_report(seconds: float, kind: str = "report", outcome: str = "complete") -> None:
    """Record one report's duration (``outcome``: complete, failed, ...)."""
    REPORT_SECONDS.labels(kind=kind, outcome=outcome).observe(max(seconds, 0.0))


def observe_loop_lag(seconds: float) -> None:
    """Record how late one heartbeat of the event loop came (worker/loop_watch.py)."""
    LOOP_LAG.observe(seconds)


def count_skipped_records(topic: str, outcome: str) -> None:
    """Records skipped on the way from the broker (faust_compat/consumer.py)."""
    SKIPPED_RECORDS.labels(topic=topic, outcome=outcome).inc()


@contextmanager
def time_report(kind: str = "report") -> Iterator[None]:
    """``with time_report("report"): ...`` records the duration, outcome failed on error."""
    started = time.perf_counter()
    outcome = "failed"
    try:
        yield
        outcome = "complete"
    finally:
        observe_report(time.perf_counter() - started, kind, outcome)


def count_outage_event(kind: str) -> None:
    OUTAGE_EVENTS.labels(kind=kind).inc()


def count_alert(kind: str, outcome: str) -> None:
    ALERTS.labels(type=kind, outcome=outcome).inc()


def set_live_clients(n: int) -> None:
    LIVE_CLIENTS.set(n)


def render(extra: Iterable[CollectorRegistry] = ()) -> bytes:
    """The exposition text of :data:`REGISTRY` followed by ``extra`` registries."""
    return generate_latest(REGISTRY) + b"".join(generate_latest(r) for r in extra)
