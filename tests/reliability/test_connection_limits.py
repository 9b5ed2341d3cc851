"""Connection limits against a real worker: 5,000 idle connections (and clients that never
finish their headers or their body) do not stop a replay or a report, and the worker closes
them after STREAMPROC_HTTP_IDLE_TIMEOUT, giving their file descriptors back; NaN and
infinity in every numeric input get 400 with the reason."""

from __future__ import annotations

import json
import os
import resource
import socket
import threading
import time
from pathlib import Path

from streamproc.sandbox.http import JSON, request, wait_report
from tests.support.data import generate, replay
from tests.support.worker_fixture import isolated_worker

IDLE = 5_000
IDLE_TIMEOUT_S = 45.0  # longer than opening 5,000 takes (the listen backlog slows it)
OPERATOR, SECRET = "op-limits", "peer-limits"
OP = {"Authorization": f"Bearer {OPERATOR}"}
PEER = {"Authorization": f"Bearer {SECRET}", **JSON}


def _raise_fd_limit(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))


def _open_idle(port: int, n: int) -> list[socket.socket]:
    """``n`` connections that send nothing (a few half-sent requests among them)."""
    out = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        if i % 500 == 0:  # headers never finished
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        elif i % 500 == 1:  # a body never sent in full
            s.sendall(b"POST /trigger_report HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                      + OPERATOR.encode() + b"\r\nContent-Length: 100\r\n\r\n{")
        out.append(s)
    return out


def _still_open(sockets: list[socket.socket]) -> list[socket.socket]:
    """The sockets the server has not closed (an answer, such as 408, then EOF counts)."""
    out = []
    for s in sockets:
        s.setblocking(False)
        try:
            while data := s.recv(65536):
                del data
        except BlockingIOError:
            out.append(s)
        except OSError:
            pass
    return out


def _wait_closed(sockets: list[socket.socket], timeout: float) -> tuple[int, float]:
    """(how many the server closed, seconds it took) within ``timeout``."""
    started = time.monotonic()
    left = sockets
    while left and time.monotonic() - started < timeout:
        time.sleep(0.5)
        left = _still_open(left)
    return len(sockets) - len(left), time.monotonic() - started


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class PeakFds:
    """The most file descriptors the process held while this ran (sampled in a thread)."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, _fds(self.pid))

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


def test_idle_connections_do_not_stop_replay_or_report(kafka_broker, tmp_path: Path, say):
    _raise_fd_limit(IDLE + 2_000)
    data = generate(tmp_path / "data", 200, 8, 31)
    env = {"STREAMPROC_API_TOKEN": OPERATOR, "STREAMPROC_PEER_SECRET": SECRET,
           "STREAMPROC_HTTP_IDLE_TIMEOUT": str(IDLE_TIMEOUT_S)}
    with isolated_worker(kafka_broker, tmp_path, **env) as handle:
        port = int(handle.env["STREAMPROC_WEB_PORT"])
        baseline = _fds(handle.pid)
        sampler = PeakFds(handle.pid)
        started = time.monotonic()
        idle = _open_idle(port, IDLE)
        opened_s = time.monotonic() - started
        replayer = threading.Thread(target=replay, args=(handle.env, data))
        replayer.start()
        status, _, raw = request(handle.base_url, "/health", timeout=30)
        assert status == 200, raw[:200]
        replayer.join(300)
        assert not replayer.is_alive()
        status, _, raw = request(handle.base_url, "/trigger_report", "POST", b"{}",
                                 {**OP, **JSON})
        assert status == 200, raw[:200]
        report = wait_report(handle.base_url, json.loads(raw)["report_id"], 120, headers=OP)
        assert len(report.decode().splitlines()) == 201
        busy_s = time.monotonic() - started
        closed, waited = _wait_closed(idle, IDLE_TIMEOUT_S * 2)
        peak = sampler.stop()
        after = _fds(handle.pid)
        for s in idle:
            s.close()
    assert peak >= baseline + IDLE * 0.9  # the connections really were open at the worker
    assert closed == IDLE, f"{IDLE - closed} idle connections still open"
    assert after < baseline + 100
    say(f"{IDLE} idle connections opened in {opened_s:.1f} s (worker fds {baseline} -> "
        f"{peak}); a full replay (200 stores) and a report completed meanwhile "
        f"({busy_s - opened_s:.1f} s); idle timeout {IDLE_TIMEOUT_S:g} s: all closed by the worker "
        f"{waited:.1f} s later, half-sent headers and bodies included (fds back to {after})")


NAN_REQUESTS = [
    ("/fleet?limit=nan", "GET", None), ("/fleet?limit=inf", "GET", None),
    ("/fleet?limit=-inf", "GET", None), ("/fleet/hourly?hours=nan", "GET", None),
    ("/fleet/hourly?hours=Infinity", "GET", None), ("/reports?limit=nan", "GET", None),
    ("/reports?limit=inf", "GET", None), ("/trigger_report?as_of=nan", "GET", None),
    ("/trigger_report?as_of=inf", "POST", b"{}"),
    ("/trigger_report", "POST", b'{"as_of": NaN}'),
    ("/trigger_report", "POST", b'{"as_of": "NaN"}'),
    ("/trigger_report", "POST", b'{"as_of": 1e999}'),
    ("/snapshot.csv?as_of=nan", "GET", None), ("/snapshot.csv?as_of=inf", "GET", None),
]
NAN_INTERNAL = [
    b'{"targets": [], "timeout": "nan"}', b'{"targets": [], "timeout": NaN}',
    b'{"targets": [], "timeout": 1e999}', b'{"targets": [], "timeout": "inf"}',
    b'{"targets": [], "timeout": -1}', b'{"targets": [["t", 0, NaN]], "timeout": 1}',
]


def test_nan_and_infinity_everywhere_get_400(kafka_broker, tmp_path: Path, say):
    env = {"STREAMPROC_API_TOKEN": OPERATOR, "STREAMPROC_PEER_SECRET": SECRET}
    with isolated_worker(kafka_broker, tmp_path, **env) as handle:
        for path, method, body in NAN_REQUESTS:
            status, _, raw = request(handle.base_url, path, method, body, {**OP, **JSON})
            assert status == 400, (path, body, status, raw[:200])
            assert json.loads(raw)["error"], path
        for body in NAN_INTERNAL:
            status, _, raw = request(handle.base_url, "/internal/catch-up", "POST", body, PEER)
            assert status == 400, (body, status, raw[:200])
        for now in (b'"nan"', b"NaN", b"1e999", b'"inf"'):
            status, _, raw = request(handle.base_url, "/internal/rows", "POST",
                                     b'{"now": ' + now + b"}", PEER)
            assert status == 400, (now, status, raw[:200])
    say(f"{len(NAN_REQUESTS) + len(NAN_INTERNAL) + 4} requests with NaN / infinity in every "
        "numeric input (limit, hours, as_of, timeout, targets, now): all 400 with a reason")
