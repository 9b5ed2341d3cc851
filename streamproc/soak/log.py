"""The soak's progress lines: one per action and a status line every few seconds, on stdout
and in ``soak.log`` of the run directory, stamped with the seconds since the soak began and
the wall clock (to find the moment in the workers' and brokers' logs).

Lines come from several threads (the timetable, the triggers, the report follower), so each
is written whole under a lock.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import TextIO


class Log:
    def __init__(self, path: Path, stream: TextIO | None = None) -> None:
        self.path = path
        self.stream = stream or sys.stdout
        self.started = time.monotonic()
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("a", encoding="utf-8")

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def __call__(self, text: str) -> None:
        line = f"[{self.elapsed():7.1f}s {time.strftime('%H:%M:%S')}] {text}"
        with self._lock:
            print(line, file=self.stream, flush=True)
            self._file.write(line + "\n")
            self._file.flush()

    def quiet(self, text: str) -> None:
        """A line for the log file only (details a reader of stdout does not need)."""
        with self._lock:
            self._file.write(f"[{self.elapsed():7.1f}s {time.strftime('%H:%M:%S')}] {text}\n")
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()
