"""Helpers for the live-monitoring tests: produce polls into a worker's topics, read /live."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterable

from streamproc.core import wire
from streamproc.sandbox.http import get_json
from tests.support.kafka import send_raw


def produce_polls(env: dict[str, str], batches: Iterable[tuple[str, list]]) -> None:
    """Send ``[(store_id, [(ts_us, active), ...]), ...]`` to the worker's polls topic."""
    topic = env["STREAMPROC_TOPIC_POLLS"]
    messages = [(topic, store_id.encode(), wire.encode_polls(polls))
                for store_id, polls in batches]
    results: list = []
    errors: list[BaseException] = []

    def run() -> None:  # own thread: the caller may be inside an event loop (Playwright)
        try:
            results.extend(send_raw(env, messages))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            errors.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    errors += [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]


class SseReader:
    """Reads ``GET /live`` in a thread; ``events`` collects (event, data dict, received_at)."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        self.base_url = base_url
        self.headers = headers or {}
        self.events: list[tuple[str, dict, float]] = []
        self.ready = threading.Event()
        self._resp = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self.ready.wait(30):
            raise AssertionError("GET /live never sent its ready event")

    def _run(self) -> None:
        try:
            req = urllib.request.Request(self.base_url + "/live", headers=self.headers)
            self._resp = urllib.request.urlopen(req, timeout=120)
            kind, data = "message", []
            for raw in self._resp:
                line = raw.decode().rstrip("\r\n")
                if not line:
                    if data:
                        payload = json.loads("\n".join(data))
                        if kind == "ready":
                            self.ready.set()
                        else:
                            self.events.append((kind, payload, time.time()))
                    kind, data = "message", []
                elif line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
        except Exception:  # noqa: BLE001 - the test sees what arrived
            pass

    def wait_for(self, predicate, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for _kind, payload, _at in list(self.events):
                if predicate(payload):
                    return payload
            time.sleep(0.02)
        raise AssertionError(f"no matching /live event in {timeout}s; got {self.events[-5:]}")

    def close(self) -> None:
        if self._resp is not None:
            self._resp.close()


def open_active_store(base_url: str) -> tuple[str, int]:
    """A store that is active and inside business hours at the watermark, and the watermark."""
    fleet = get_json(base_url, "/fleet?limit=1000")
    for row in sorted(fleet["worst"], key=lambda r: r["store_id"]):
        if row["status"] == "active" and row["open_now"]:
            return row["store_id"], fleet["watermark_us"]
    raise AssertionError("no store is active and open at the watermark")
