"""The soak's workers: one :class:`~streamproc.sandbox.WorkerProcess` per name (``w1``,
``w2``, ...), each with its own web port, state dir ``state-<name>`` and log
``worker-<name>.log`` in the run directory, all of one pipeline.

The fleet remembers what the schedule did to each worker, so that :meth:`Fleet.exits` can
tell an exit the schedule caused (kill -9, SIGTERM) from one it did not: the soak's first
check. A worker told to stop (SIGTERM) is waited for on a thread of its own, since a
graceful stop takes seconds and the timetable must go on; starting it again waits for that.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from streamproc.sandbox import WorkerProcess, log_tail, peer_worker, stop_group
from streamproc.soak.code_guard import CodeGuard

RUNNING, KILLED, STOPPING, STOPPED, CRASHED = "running", "killed", "stopping", "stopped", \
    "crashed"
STOP_GRACE_S = 30.0  # SIGTERM, then SIGKILL after this long


@dataclass
class Slot:
    name: str
    handle: WorkerProcess
    state: str = STOPPED
    starts: int = 0
    stopper: threading.Thread | None = None


class Fleet:
    def __init__(self, env: dict[str, str], directory: Path, log,
                 guard: CodeGuard | None = None) -> None:
        self.env = env
        self.guard = guard or CodeGuard()
        self.directory = directory
        self.log = log
        self.slots: dict[str, Slot] = {}
        self.unexpected: list[str] = []  # exits nobody asked for, with the log's last lines
        self.slow_stops: list[str] = []  # SIGTERM not obeyed within STOP_GRACE_S
        self._lock = threading.Lock()
        self._rng = random.Random()

    def start(self, name: str) -> WorkerProcess:
        """Spawn worker ``name`` (new, or again with its state dir once its last process has
        exited); does not wait until it is ready. Raises :class:`CodeChanged` once the
        sources differ from those the first workers ran."""
        self.guard.check()
        slot = self.slots.get(name)
        if slot is None:
            handle = peer_worker(self.env, self.directory, name)
            handle.grace = STOP_GRACE_S
            slot = self.slots[name] = Slot(name, handle)
        if slot.stopper is not None:
            slot.stopper.join()
        with self._lock:
            slot.handle.spawn()
            slot.state, slot.starts = RUNNING, slot.starts + 1
        return slot.handle

    def kill(self, name: str) -> int:
        """SIGKILL worker ``name`` (its process group) and wait; its pid."""
        slot = self.slots[name]
        with self._lock:
            slot.state = KILLED
            process = slot.handle.process
        if process is None:
            return 0
        slot.handle.kill(signal.SIGKILL)
        return process.pid

    def stop(self, name: str) -> int:
        """SIGTERM worker ``name``; a thread waits for it to exit. Its pid."""
        slot = self.slots[name]
        with self._lock:
            slot.state = STOPPING
            process = slot.handle.process
        assert process is not None
        started = time.monotonic()

        def wait() -> None:
            stop_group(process, signal.SIGTERM, STOP_GRACE_S)
            took = time.monotonic() - started
            if took >= STOP_GRACE_S:
                self.slow_stops.append(f"{name}: still running {STOP_GRACE_S:.0f}s after "
                                       "SIGTERM, SIGKILLed")
            self.log(f"worker {name} gone {took:.1f}s after SIGTERM (exit {process.returncode})")
            with self._lock:
                if slot.state == STOPPING:
                    slot.state = STOPPED
                slot.handle.process = None

        slot.stopper = threading.Thread(target=wait, name=f"stop-{name}", daemon=True)
        slot.stopper.start()
        return process.pid

    def running(self) -> list[WorkerProcess]:
        """The workers the schedule has not killed or stopped (ready or not)."""
        with self._lock:
            return [s.handle for s in self.slots.values() if s.state == RUNNING]

    def running_named(self) -> list[tuple[str, WorkerProcess]]:
        """(name, handle) of each running worker, by name."""
        with self._lock:
            return sorted((s.name, s.handle) for s in self.slots.values() if s.state == RUNNING)

    def pick(self, preferred: str | None = None) -> tuple[str, WorkerProcess] | None:
        """(name, handle) of ``preferred`` if it is running, else of a running worker at
        random; None if none runs."""
        with self._lock:
            running = {s.name: s.handle for s in self.slots.values() if s.state == RUNNING}
        if preferred in running:
            return preferred, running[preferred]
        if not running:
            return None
        name = self._rng.choice(sorted(running))
        return name, running[name]

    def exits(self) -> list[str]:
        """Workers that exited although the schedule neither killed nor stopped them (each
        reported once, then marked crashed)."""
        found = []
        with self._lock:
            for slot in self.slots.values():
                process = slot.handle.process
                if slot.state == RUNNING and process is not None and process.poll() is not None:
                    slot.state = CRASHED
                    found.append(f"worker {slot.name} (pid {process.pid}) exited with "
                                 f"{process.returncode}; its log ends:\n"
                                 f"{log_tail(slot.handle.log_path, 30)}")
        self.unexpected += found
        return found

    def settle_stops(self) -> None:
        """Wait for every worker told to stop to be gone."""
        for slot in list(self.slots.values()):
            if slot.stopper is not None:
                slot.stopper.join()

    def close(self) -> None:
        """Stop every worker: SIGTERM all at once, SIGKILL what remains after the grace."""
        with self._lock:
            for slot in self.slots.values():
                if slot.state == RUNNING:
                    slot.state = STOPPING
            processes = [s.handle.process for s in self.slots.values()
                         if s.handle.process is not None]
        threads = [threading.Thread(target=stop_group, args=(p, signal.SIGTERM, STOP_GRACE_S))
                   for p in processes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.settle_stops()
