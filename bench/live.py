"""Live latency: a poll produced -> its change visible on GET /stores/{id} and on GET /live.

Run against a running worker (same STREAMPROC_* environment as the worker)::

    python -m bench.live --samples 200 --load 1000

Background load: ``--load`` polls per second to ``--bg-stores`` other stores
(``--per-message`` polls of one store per message, event time following the wall clock).
A probe store (24x7, no hours row) flips its status on every sample; the latency is
measured from just before ``send`` to the first moment the change is seen (HTTP polled
every 2 ms; SSE pushed). Prints p50/p90/p99/max.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass

import aiohttp
import orjson
from aiokafka import AIOKafkaProducer

from streamproc import config
from streamproc.core import wire
from streamproc.sandbox.stats import percentile


def _line(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    if not ms:
        return f"{name:<22} no samples"
    return (f"{name:<22} n={len(ms):<4} p50={percentile(ms, 0.5):7.1f} ms  "
            f"p90={percentile(ms, 0.9):7.1f} ms  p99={percentile(ms, 0.99):7.1f} ms  "
            f"max={max(ms):7.1f} ms  mean={statistics.mean(ms):.1f}")


async def _background(producer: AIOKafkaProducer, topic: str, rate: int, stores: int,
                      base_us: int, t0: float, stop: asyncio.Event, sent: list[int],
                      per_message: int) -> None:
    tick = 0.02
    per_tick = max(1, round(rate * tick))
    i = 0
    next_at = time.perf_counter()
    while not stop.is_set():
        ts = base_us + int((time.perf_counter() - t0) * 1e6)
        for _ in range(max(1, per_tick // per_message)):
            key = f"bench-bg-{i % stores}".encode()
            polls = [(ts - j, (i + j) % 50 != 0) for j in range(per_message)]
            await producer.send(topic, key=key, value=wire.encode_polls(polls))
            i += per_message
        sent[0] = i
        next_at += tick
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))


async def _sse(session: aiohttp.ClientSession, url: str, store: str, seen: dict[int, float],
               ready: asyncio.Event) -> None:
    async with session.get(url + "/live", timeout=aiohttp.ClientTimeout(total=None)) as resp:
        data = None
        async for raw in resp.content:
            line = raw.decode().rstrip("\r\n")
            if line.startswith("event: ready"):
                ready.set()
            elif line.startswith("data:"):
                data = line[5:].strip()
            elif not line and data:
                try:
                    doc = orjson.loads(data)
                except orjson.JSONDecodeError:
                    doc = {}
                if doc.get("store_id") == store and "since_us" in doc:
                    seen.setdefault(doc["since_us"], time.perf_counter())
                data = None


@dataclass(frozen=True)
class Probe:
    """The probe store: its polls go to ``topic``, its changes are read at ``url``."""

    producer: AIOKafkaProducer
    session: aiohttp.ClientSession
    topic: str
    url: str
    store: str
    base_us: int  # event time of the first poll (just after the worker's watermark)
    t0: float  # perf_counter() at base_us: event time follows the wall clock from there

    def now_us(self) -> int:
        return self.base_us + int((time.perf_counter() - self.t0) * 1e6)


async def measure(args: argparse.Namespace, settings: config.Settings | None = None) -> dict:
    """The figures as a dict: ``http`` and ``sse`` latencies (seconds), background ``sent``
    polls over ``elapsed`` seconds; :func:`run` prints them."""
    settings = settings or config.load()
    url = args.url or f"http://{settings.web_host}:{settings.web_port}"
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap, linger_ms=0)
    await producer.start()
    async with aiohttp.ClientSession() as session:
        probe = Probe(producer, session, settings.topic_polls, url,
                      f"bench-probe-{uuid.uuid4().hex[:8]}", await _base_us(session, url),
                      time.perf_counter())
        stop, sent = asyncio.Event(), [0]
        bg = asyncio.create_task(_background(producer, settings.topic_polls, args.load,
                                             args.bg_stores, probe.base_us, probe.t0, stop,
                                             sent, args.per_message))
        seen: dict[int, float] = {}
        ready = asyncio.Event()
        sse = asyncio.create_task(_sse(session, url, probe.store, seen, ready))
        await asyncio.wait_for(ready.wait(), 30)
        await asyncio.sleep(args.warmup)
        http_lat, sse_lat = await _samples(probe, seen, args)
        elapsed = time.perf_counter() - probe.t0
        stop.set()
        await bg
        sse.cancel()
    await producer.stop()
    return {"http": http_lat, "sse": sse_lat, "sent": sent[0], "elapsed": elapsed,
            "samples": args.samples}


async def _base_us(session: aiohttp.ClientSession, url: str) -> int:
    """Event time just past the worker's watermark, so that the probe's polls are the newest
    the worker has seen."""
    from streamproc.core.timeparse import parse_timestamp

    async with session.get(url + "/health") as resp:
        health = await resp.json()
    wm = health.get("watermark")
    return parse_timestamp(wm) + 1_000_000 if wm else int(time.time() * 1e6)


async def _samples(probe: Probe, seen: dict[int, float],
                   args: argparse.Namespace) -> tuple[list[float], list[float]]:
    """``args.samples`` status flips of the probe store: (HTTP latencies, SSE latencies)."""
    http_lat: list[float] = []
    sse_lat: list[float] = []
    for k in range(args.samples):
        active = k % 2 == 1  # the first is inactive: a first active observation is silent
        ts = probe.now_us()
        started = time.perf_counter()
        await probe.producer.send(probe.topic, key=probe.store.encode(),
                                  value=wire.encode_polls([(ts, active)]))
        deadline = started + args.timeout
        if await _seen_on_http(probe, "active" if active else "inactive", ts, deadline):
            http_lat.append(time.perf_counter() - started)
        while time.perf_counter() < deadline and ts not in seen:
            await asyncio.sleep(0.002)
        if ts in seen:
            sse_lat.append(seen[ts] - started)
        await asyncio.sleep(args.interval)
    return http_lat, sse_lat


async def _seen_on_http(probe: Probe, want: str, ts: int, deadline: float) -> bool:
    """Poll ``/stores/{id}`` until it shows the change (True) or ``deadline`` passes."""
    while time.perf_counter() < deadline:
        async with probe.session.get(f"{probe.url}/stores/{probe.store}") as resp:
            if resp.status == 200:
                doc = await resp.json()
                if doc["status"] == want and doc["since_us"] == ts:
                    return True
        await asyncio.sleep(0.002)
    return False


async def run(args: argparse.Namespace) -> int:
    figures = await measure(args)
    sent, elapsed = figures["sent"], figures["elapsed"]
    http_lat, sse_lat = figures["http"], figures["sse"]
    print(f"background load: {sent:,} polls in {elapsed:.1f}s = {sent / elapsed:,.0f}/s "
          f"to {args.bg_stores} stores")
    print(_line("poll -> /stores/{id}", http_lat))
    print(_line("poll -> /live (SSE)", sse_lat))
    missing = args.samples - min(len(http_lat), len(sse_lat))
    if missing:
        print(f"{missing} samples not seen within {args.timeout}s")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="worker base URL (default from STREAMPROC_WEB_*)")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--load", type=int, default=1000, help="background polls per second")
    parser.add_argument("--bg-stores", type=int, default=2000)
    parser.add_argument("--per-message", type=int, default=10,
                        help="background polls per Kafka message (one store each)")
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between probes")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=5.0)
    return asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    raise SystemExit(main())
