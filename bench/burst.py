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
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import signal
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


def probe(worker: WorkerProcess, topic: str, total: int, store: str) -> dict:
    """Until the worker has handled ``total`` events: peak RSS and the answer times."""
    started, peak, health_s, store_s = time.monotonic(), 0.0, [], []
    while True:
        worker.check_alive()
        peak = max(peak, proc_status_kib(worker.pid, "VmRSS") / 1024)
        took, body = timed_get(worker.base_url + "/health")
        health_s.append(took)
        store_s.append(timed_get(f"{worker.base_url}/stores/{store}")[0])
        handled = json.loads(body)["messages"].get(topic, 0)
        if len(health_s) % 20 == 0:
            print(f"{time.monotonic() - started:6.1f}s {handled:,} events handled", flush=True)
        if handled >= total:
            return {"seconds": time.monotonic() - started, "peak_rss_mib": peak,
                    "health_s": health_s, "store_s": store_s}
        time.sleep(0.5)


def summary(label: str, values: list[float]) -> str:
    return (f"{label} p50 {percentile(values, 0.5) * 1000:.0f} ms, "
            f"p99 {percentile(values, 0.99) * 1000:.0f} ms, max {max(values) * 1000:.0f} ms, "
            f"{sum(v > 1 for v in values)} of {len(values)} over 1 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    env = isolated_env(args.bootstrap, args.out / "state")
    topic = env["STREAMPROC_TOPIC_EVENTS"]
    worker = WorkerProcess(env, args.out / "worker.log")
    worker.start()  # creates the topics
    worker.kill(signal.SIGTERM)
    started = time.monotonic()
    total = asyncio.run(publish(args.bootstrap, topic, args.data))
    print(f"published {total:,} events in {time.monotonic() - started:.1f} s", flush=True)
    try:
        worker.start(timeout=300)
        store = next(events(args.data))[0]
        found = probe(worker, topic, total, store)
        (args.out / "stream.csv").write_text(worker.snapshot_csv(timeout=600))
    finally:
        worker.kill(signal.SIGTERM)
    print(f"{total:,} events applied in {found['seconds']:.1f} s "
          f"({total / found['seconds']:,.0f}/s), worker peak RSS {found['peak_rss_mib']:.0f} MiB, "
          f"no crash; load average {loadavg()}")
    print(summary("/health", found["health_s"]))
    print(summary("/stores/{id}", found["store_s"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
