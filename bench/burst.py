"""``python -m bench.burst``: a backlog of public events, published while the worker is down,
applied by one worker; its memory and how fast ``/health`` and ``/stores/{id}`` answer
meanwhile (issue 23: "backpressure under any burst").

    streamproc generate --stores 12200 --days 8 --seed 5 --out /tmp/burst-data   # ~2.0M rows
    streamproc broker start
    python -m bench.burst --data /tmp/burst-data --bootstrap 127.0.0.1:9092 --out /tmp/burst

Every row becomes one event (zones and hours first, then one poll an event, every other one
without a key), published as fast as aiokafka sends; then the worker starts and is probed
every half second until it has handled them all. The report it then serves is written to
``--out/stream.csv`` (compare it with ``streamproc report`` on the same files).

``--via http``: the same events sent to the running worker as ``POST /events`` NDJSON bodies
(under the 4 MiB body cap), one after another, each answered once the broker has its
messages, while the probes run; done when every poll is applied.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from aiokafka import AIOKafkaProducer

from bench.harness import loadavg, proc_status_kib
from streamproc.sandbox import WorkerProcess, isolated_env
from streamproc.sandbox.stats import percentile

ACK_EVERY = 20_000  # events in flight before waiting for the broker's acknowledgements
BODY_BYTES = 3_500_000  # an HTTP body, under the worker's 4 MiB cap


def events(data: Path) -> Iterator[tuple[str, dict]]:
    """(store id, event) for every row: zones, each store's hours, then the polls."""
    with (data / "timezones.csv").open() as f:
        for r in csv.DictReader(f):
            yield r["store_id"], {"type": "timezone", "store_id": r["store_id"],
                                  "timezone_str": r["timezone_str"]}
    sets: dict[str, list[dict]] = {}
    with (data / "menu_hours.csv").open() as f:
        for r in csv.DictReader(f):
            sets.setdefault(r["store_id"], []).append(
                {"day": int(r["day"]), "start_time_local": r["start_time_local"],
                 "end_time_local": r["end_time_local"]})
    for store, hours in sets.items():
        yield store, {"type": "hours", "store_id": store, "hours": hours}
    with (data / "store_status.csv").open() as f:
        for r in csv.DictReader(f):
            yield r["store_id"], {"type": "poll", **r}


async def publish(bootstrap: str, topic: str, data: Path) -> int:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20,
                                max_batch_size=512 * 1024)
    await producer.start()
    sent, pending = 0, []
    try:
        for i, (store, event) in enumerate(events(data)):
            key = store.encode() if i % 2 else None
            pending.append(await producer.send(topic, json.dumps(event).encode(), key=key))
            sent += 1
            if len(pending) >= ACK_EVERY:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent


def timed_get(url: str) -> tuple[float, bytes]:
    """Seconds to an answer (any status) and its body."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            body = resp.read()
    except urllib.error.HTTPError as exc:
        body = exc.read()
    return time.monotonic() - started, body


def probe(worker: WorkerProcess, done, store: str) -> dict:
    """Until ``done(health)``: peak RSS and the answer times of ``/health`` and a store."""
    started, peak, health_s, store_s = time.monotonic(), 0.0, [], []
    while True:
        worker.check_alive()
        peak = max(peak, proc_status_kib(worker.pid, "VmRSS") / 1024)
        took, body = timed_get(worker.base_url + "/health")
        health_s.append(took)
        store_s.append(timed_get(f"{worker.base_url}/stores/{store}")[0])
        health = json.loads(body)
        if len(health_s) % 20 == 0:
            print(f"{time.monotonic() - started:6.1f}s {sum(health['messages'].values()):,} "
                  f"messages handled, {health['polls_applied']:,} polls applied", flush=True)
        if done(health):
            return {"seconds": time.monotonic() - started, "peak_rss_mib": peak,
                    "health_s": health_s, "store_s": store_s}
        time.sleep(0.5)


def ndjson_bodies(data: Path) -> Iterator[tuple[bytes, int]]:
    """Every event as NDJSON lines, in bodies of at most :data:`BODY_BYTES`; with counts."""
    lines: list[bytes] = []
    size = 0
    for _, event in events(data):
        line = json.dumps(event).encode() + b"\n"
        if size + len(line) > BODY_BYTES:
            yield b"".join(lines), len(lines)
            lines, size = [], 0
        lines.append(line)
        size += len(line)
    if lines:
        yield b"".join(lines), len(lines)


def post_all(worker: WorkerProcess, data: Path, sent: dict) -> None:
    """POST every body to the worker, again after a 503 (the broker was slow to answer)."""
    try:
        _post_bodies(worker, data, sent)
    except Exception as exc:  # noqa: BLE001 - handed to the probe loop, which raises it
        sent["error"] = exc


def _post_bodies(worker: WorkerProcess, data: Path, sent: dict) -> None:
    for body, count in ndjson_bodies(data):
        while True:
            request = urllib.request.Request(
                worker.base_url + "/events", data=body, method="POST",
                headers={"Content-Type": "application/x-ndjson"})
            try:
                with urllib.request.urlopen(request, timeout=300) as resp:
                    answer = json.loads(resp.read())
                break
            except urllib.error.HTTPError as exc:
                if exc.code != 503:
                    raise
                time.sleep(float(exc.headers.get("Retry-After", "1")))
        sent["events"] += count
        sent["rejected"] += answer.get("rejected", 0)
    sent["finished"] = time.monotonic()


def polls_in(data: Path) -> int:
    with (data / "store_status.csv").open() as f:
        return sum(1 for _ in f) - 1


def summary(label: str, values: list[float]) -> str:
    return (f"{label} p50 {percentile(values, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(values, 0.99) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms, "
            f"{sum(v > 1 for v in values)} of {len(values)} over 1 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--via", choices=("kafka", "http"), default="kafka")
    args = parser.parse_args()
    env = isolated_env(args.bootstrap, args.out / "state")
    worker = WorkerProcess(env, args.out / "worker.log")
    store = next(events(args.data))[0]
    worker.start()  # creates the topics
    try:
        found, total = (_via_kafka if args.via == "kafka" else _via_http)(
            worker, env, args, store)
        (args.out / "stream.csv").write_text(worker.snapshot_csv(timeout=600))
    finally:
        worker.kill(signal.SIGTERM)
    print(f"{total:,} events ({args.via}) applied in {found['seconds']:.1f} s "
          f"({total / found['seconds']:,.0f}/s), worker peak RSS {found['peak_rss_mib']:.0f} MiB, "
          f"no crash; load average {loadavg()}")
    print(summary("/health", found["health_s"]))
    print(summary("/stores/{id}", found["store_s"]))
    return 0


def _via_kafka(worker: WorkerProcess, env: dict, args, store: str) -> tuple[dict, int]:
    """Published while the worker is down, then applied from the backlog."""
    topic = env["STREAMPROC_TOPIC_EVENTS"]
    worker.kill(signal.SIGTERM)
    started = time.monotonic()
    total = asyncio.run(publish(args.bootstrap, topic, args.data))
    print(f"published {total:,} events in {time.monotonic() - started:.1f} s", flush=True)
    worker.start(timeout=300)
    return probe(worker, lambda h: h["messages"].get(topic, 0) >= total, store), total


def _via_http(worker: WorkerProcess, env: dict, args, store: str) -> tuple[dict, int]:
    """POSTed to the running worker body after body while it is probed."""
    polls, sent = polls_in(args.data), {"events": 0, "rejected": 0, "finished": None}
    poster = threading.Thread(target=post_all, args=(worker, args.data, sent), daemon=True)
    started = time.monotonic()
    poster.start()
    def done(health: dict) -> bool:
        if "error" in sent:
            raise sent["error"]
        return sent["finished"] is not None and health["polls_applied"] >= polls

    found = probe(worker, done, store)
    print(f"posted {sent['events']:,} events ({sent['rejected']:,} rejected) in "
          f"{sent['finished'] - started:.1f} s", flush=True)
    return found, sent["events"]


if __name__ == "__main__":
    raise SystemExit(main())
