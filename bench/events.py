"""`streamproc bench --events N`: one-poll events (docs/events.md) applied per second.

The first N polls of the data set become N poll events (one JSON object per message, no key,
as a simple poller publishes them). In a fresh isolated pipeline each path is timed from the
first byte sent until the worker has applied every poll (``/health`` ``polls_applied``):

* ``store-events``: a plain aiokafka producer publishes the N messages (acks=all), the
  worker's ``events`` agent re-keys them into the polls topic and the ``polls`` agent applies
  them; the producer alone is the baseline of this path;
* ``POST /events``: the same events as NDJSON bodies of 10,000 lines, one request after the
  other (each answered after the broker's acknowledgement);
* baseline for both: the same polls as a CSV through ``streamproc replay`` (packed per store).

Each path gets a pipeline of its own (own topics and state), so none starts warm.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from bench import harness
from streamproc.core.records import Rejection
from streamproc.csvfiles import iter_polls
from streamproc.sandbox import WorkerProcess, bootstrap_of, http, isolated_env, unique_name

HTTP_BODY_EVENTS = 10_000
EPOCH_US = 0


@dataclass(frozen=True)
class EventsRun:
    path: str
    events: int
    send_s: float  # the client's own time to hand over every event
    applied_s: float  # first send -> every poll applied

    @property
    def rate(self) -> float:
        return self.events / self.applied_s


def poll_events(polls_csv: Path, count: int) -> list[bytes]:
    """The first ``count`` good polls of the file as JSON poll events."""
    out = []
    good = (p for p in iter_polls(polls_csv) if not isinstance(p, Rejection))
    for store_id, ts_us, active in itertools.islice(good, count):
        out.append(orjson.dumps({"type": "poll", "store_id": store_id,
                                 "status": "active" if active else "inactive",
                                 "timestamp_utc": _timestamp(ts_us)}))
    return out


def _timestamp(ts_us: int) -> str:
    seconds, micros = divmod(ts_us, 1_000_000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds)) + f".{micros:06d} UTC"


def csv_of(events: list[bytes], path: Path) -> Path:
    """The same polls as a store_status CSV (the replay baseline)."""
    with path.open("w") as f:
        f.write("store_id,status,timestamp_utc\n")
        for raw in events:
            e = orjson.loads(raw)
            f.write(f"{e['store_id']},{e['status']},{e['timestamp_utc']}\n")
    return path


async def _publish(bootstrap: str, topic: str, events: list[bytes]) -> float:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                                max_batch_size=1 << 20)
    await producer.start()
    try:
        started = time.monotonic()
        futures = [await producer.send(topic, value) for value in events]
        await asyncio.gather(*futures)
        return time.monotonic() - started
    finally:
        await producer.stop()


def _post_all(worker: WorkerProcess, events: list[bytes]) -> float:
    started = time.monotonic()
    for i in range(0, len(events), HTTP_BODY_EVENTS):
        body = b"\n".join(events[i:i + HTTP_BODY_EVENTS])
        status, _, answer = http.request(worker.base_url, "/events", "POST", body,
                                         {"Content-Type": "application/x-ndjson"})
        if status != 200 or orjson.loads(answer)["rejected"]:
            raise RuntimeError(f"POST /events answered {status}: {answer[:300]!r}")
    return time.monotonic() - started


def run_path(bootstrap: str, tmp: Path, path: str, events: list[bytes]) -> EventsRun:
    """One fresh pipeline; ``path`` is "topic", "http" or "replay"."""
    tag = unique_name(f"ev-{path}")
    env = isolated_env(bootstrap, tmp / path / "state", tag, STREAMPROC_LOGLEVEL="warning")
    worker = WorkerProcess(env, tmp / path / "worker.log", grace=30)
    try:
        return _timed(worker, env, path, events, tmp)
    finally:
        harness.delete_topics(bootstrap, lambda name: tag in name)


def _timed(worker: WorkerProcess, env: dict[str, str], path: str, events: list[bytes],
           tmp: Path) -> EventsRun:
    with worker.running(180):
        started = time.monotonic()
        if path == "topic":
            send_s = asyncio.run(_publish(bootstrap_of(env), env["STREAMPROC_TOPIC_EVENTS"],
                                          events))
        elif path == "http":
            send_s = _post_all(worker, events)
        else:
            send_s, _ = harness.timed_cli(env, "replay", "--polls",
                                          str(csv_of(events, tmp / "polls.csv")))
        worker.wait_applied(len(events), timeout=900, every=0.05)
        return EventsRun(path, len(events), send_s, time.monotonic() - started)


LABELS = {"topic": "events on store-events (aiokafka producer, no key)",
          "http": f"events by POST /events (NDJSON, {HTTP_BODY_EVENTS:,} per request)",
          "replay": "the same polls by streamproc replay (CSV, packed per store)"}


def table(runs: list[EventsRun]) -> str:
    base = next(r for r in runs if r.path == "replay").rate
    lines = ["| path | applied | vs replay (same run) | client alone |", "|---|---|---|---|"]
    for run in runs:
        lines.append(f"| {LABELS[run.path]} | {run.rate:,.0f} events/s ({run.applied_s:.1f} s)"
                     f" | x{run.rate / base:.2f} | {run.events / run.send_s:,.0f} events/s |")
    return "\n".join(lines) + "\n"
