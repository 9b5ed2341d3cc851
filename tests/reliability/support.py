"""Helpers of the reliability suite: data sets, the batch oracle, background replays,
worker restarts with timings, reading topics, and dedicated brokers.

Every test builds its own isolated pipeline (topics, consumer group, state dirs, web ports)
with ``tests.fixtures_worker.isolated_env`` and compares the worker's report with the batch
command (``streamproc report``) on the same files, byte for byte.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from tests.fixtures_worker import WorkerHandle, run_cli

# A SIGKILLed member stays in the consumer group until its session expires (Faust's default
# is 60 s), and the rebalance that hands its partitions to a restarted or surviving worker
# waits for that. Tests that kill workers lower it so several kills fit in a bounded test;
# the README's Guarantees section gives both figures.
FAST_FAILOVER = {"BROKER_SESSION_TIMEOUT": "10", "BROKER_HEARTBEAT_INTERVAL": "1"}

SOURCES = ("store_status.csv", "menu_hours.csv", "timezones.csv")


def generate(out: Path, stores: int = 200, days: int = 8, seed: int = 1, *extra: str) -> Path:
    run_cli(dict(os.environ), "generate", "--stores", str(stores), "--days", str(days),
            "--seed", str(seed), "--out", str(out), *extra)
    return out


def replay_args(data: Path, polls: Path | None = None, *extra: str) -> list[str]:
    return ["replay", "--polls", str(polls or data / SOURCES[0]),
            "--hours", str(data / SOURCES[1]), "--timezones", str(data / SOURCES[2]), *extra]


def batch_report(data: Path, out: Path, polls: Path | None = None,
                 hours: Path | None = None, timezones: Path | None = None) -> str:
    run_cli(dict(os.environ), "report", "--polls", str(polls or data / SOURCES[0]),
            "--hours", str(hours or data / SOURCES[1]),
            "--timezones", str(timezones or data / SOURCES[2]), "--out", str(out))
    return out.read_text()


def cli(env: dict[str, str], *args: str, timeout: float = 300.0) -> subprocess.CompletedProcess:
    """A `streamproc` command that may fail (the caller looks at returncode)."""
    return subprocess.run([sys.executable, "-m", "streamproc", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


class Background:
    """A `streamproc` command running in the background (its own process group)."""

    def __init__(self, env: dict[str, str], args: list[str], log: Path) -> None:
        self.log = log
        self.args = args
        self._out = log.open("wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, "-m", "streamproc", *args], env=env,
                                     stdout=self._out, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def running(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float = 180.0) -> int:
        try:
            return self.proc.wait(timeout)
        finally:
            self._out.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(20)
        self._out.close()


def http(base: str, path: str, method: str = "GET", body: bytes | None = None,
         headers: dict[str, str] | None = None, timeout: float = 60.0):
    """(status, headers, body) without raising on 4xx/5xx."""
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def health(handle: WorkerHandle) -> dict:
    return handle.get_json("/health", timeout=5)


def wait_for(pred: Callable[[], object], timeout: float, what: str, every: float = 0.3):
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except (OSError, ValueError, KeyError) as exc:
            last = exc
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


def snapshot(handle: WorkerHandle, timeout: float = 150.0) -> str:
    """The worker's report CSV; retried while a rebalance makes it answer 503."""
    deadline = time.monotonic() + timeout
    while True:
        status, _, body = http(handle.base_url, "/snapshot.csv", timeout=timeout)
        if status == 200:
            return body.decode()
        if time.monotonic() > deadline:
            try:
                doc = health(handle)
            except OSError as exc:
                doc = {"error": str(exc)}
            raise AssertionError(f"snapshot kept failing: {status} {body[:300]!r}\n"
                                 f"health: {doc}\n{handle.tail()}")
        time.sleep(1.0)


def first_diff(a: str, b: str) -> str:
    """A short description of where two report CSVs differ."""
    la, lb = a.splitlines(), b.splitlines()
    for i, (x, y) in enumerate(zip(la, lb, strict=False)):
        if x != y:
            return f"line {i + 1}: worker {x!r} != batch {y!r}"
    return f"{len(la)} lines vs {len(lb)} lines"


@dataclass
class Recovery:
    killed_to_ready: float
    killed_to_snapshot: float


def kill_and_restart(handle: WorkerHandle, sig: int = signal.SIGKILL,
                     before_start: Callable[[], None] | None = None,
                     timeout: float = 120.0) -> Recovery:
    """Kill the worker, start it again with the same env and state dir, wait until it is
    ready and answers a snapshot; return the times from the kill."""
    killed = time.monotonic()
    handle.kill(sig)
    if before_start is not None:
        before_start()
    handle.start(timeout=timeout)
    ready = time.monotonic()
    snapshot(handle, timeout=timeout)
    return Recovery(ready - killed, time.monotonic() - killed)


# -- Kafka ------------------------------------------------------------------------------------


def bootstrap_of(env: dict[str, str]) -> str:
    return env["STREAMPROC_BROKER"].split("://", 1)[-1]


async def _drain(bootstrap: str, topic: str, idle_s: float, timeout: float) -> list:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                fetch_max_bytes=64 * 1024 * 1024,
                                max_partition_fetch_bytes=16 * 1024 * 1024)
    await consumer.start()
    out: list = []
    try:
        parts = None
        for _ in range(50):
            metadata = await consumer._client.fetch_all_metadata()
            parts = metadata.partitions_for_topic(topic)
            if parts:
                break
            await asyncio.sleep(0.1)
        tps = [TopicPartition(topic, p) for p in sorted(parts or ())]
        if not tps:
            return out
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        quiet_since = loop.time()
        while loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=300)
            for msgs in batch.values():
                out += msgs
            if batch:
                quiet_since = loop.time()
            done = all([await consumer.position(tp) >= ends[tp] for tp in tps])
            if done and loop.time() - quiet_since >= idle_s:
                break
    finally:
        await consumer.stop()
    return out


def read_topic(env_or_bootstrap: dict[str, str] | str, topic: str, idle_s: float = 1.0,
               timeout: float = 60.0) -> list:
    """Every record of ``topic`` (all partitions) from the beginning."""
    boot = env_or_bootstrap if isinstance(env_or_bootstrap, str) else bootstrap_of(
        env_or_bootstrap)
    return asyncio.run(_drain(boot, topic, idle_s, timeout))


def dead_letters(env: dict[str, str], **kw) -> list[dict]:
    return [json.loads(m.value) for m in read_topic(env, env["STREAMPROC_TOPIC_DEADLETTER"], **kw)]


async def _send_raw(bootstrap: str, messages: list[tuple[str, bytes | None, bytes | None]]):
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0,
                                max_request_size=2 * 1024 * 1024)
    await producer.start()
    try:
        out = []
        for topic, key, value in messages:
            try:
                meta = await (await producer.send(topic, key=key, value=value))
            except KafkaError as exc:  # refused by the broker itself
                out.append(exc)
            else:
                out.append((meta.topic, meta.partition, meta.offset))
        return out
    finally:
        await producer.stop()


def send_raw(env: dict[str, str], messages: list[tuple[str, bytes | None, bytes | None]]
             ) -> list[tuple[str, int, int] | KafkaError]:
    """Write ``(topic, key, value)`` straight to Kafka, bypassing the producers; return
    where each landed ``(topic, partition, offset)``, or the broker's error."""
    return asyncio.run(_send_raw(bootstrap_of(env), messages))


# -- a dedicated broker --------------------------------------------------------------------


@dataclass
class PrivateBroker:
    """A broker of its own (state dir, ports): safe to stop and start in a test."""

    env: dict[str, str]

    @property
    def bootstrap(self) -> str:
        return bootstrap_of(self.env)

    def run(self, action: str, timeout: float = 120.0) -> float:
        started = time.monotonic()
        run_cli(self.env, "broker", action, timeout=timeout)
        return time.monotonic() - started
