"""Tail a growing CSV file like ``tail -f`` (from its first line) and parse it in a thread.

`tail_lines` yields complete lines (bytes, without the newline) as they are appended; a last
line without its newline is held back until the rest arrives (or the tail is stopped: then
it is taken as the last line, like the end of a file). `FollowParser` runs
`streamproc.csvfiles.iter_polls` over it in a helper thread and hands records and
rejections to the event loop through a deque, so the loop never blocks on the file.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from streamproc.csvfiles import iter_polls

READ_BLOCK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"


class FollowError(RuntimeError):
    """The followed file cannot be read on (gzip, truncated, vanished)."""


def tail_lines(
    path: str | os.PathLike[str],
    stop: threading.Event,
    *,
    poll_interval: float = 0.05,
    on_data: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """Lines of `path` from the start, then the lines appended to it, until `stop` is set."""
    with open(path, "rb") as f:
        if f.read(2) == _GZIP_MAGIC:
            raise FollowError(f"{os.fspath(path)}: cannot follow a gzip file")
        f.seek(0)
        pending = b""
        while True:
            data = f.read(READ_BLOCK)
            if data:
                if on_data is not None:
                    on_data(len(data))
                pending += data
                cut = pending.rfind(b"\n")
                if cut >= 0:
                    lines = pending[:cut].split(b"\n")
                    pending = pending[cut + 1 :]
                    yield from lines
                if not stop.is_set():
                    continue
            if stop.is_set():
                if pending:
                    yield pending
                return
            if os.fstat(f.fileno()).st_size < f.tell():
                raise FollowError(f"{os.fspath(path)}: file was truncated while following it")
            stop.wait(poll_interval)


class FollowParser:
    """Parses a followed polls file in a daemon thread; `drain()` takes what is ready."""

    def __init__(self, path: str | os.PathLike[str], *, poll_interval: float = 0.05) -> None:
        self.path = path
        self.stop_event = threading.Event()
        self.items: deque[Any] = deque()
        self.error: BaseException | None = None
        self.bytes_read = 0
        self.last_data = time.monotonic()
        self._poll_interval = poll_interval
        self._thread = threading.Thread(target=self._run, name="follow-parser", daemon=True)

    def _on_data(self, n: int) -> None:
        self.bytes_read += n
        self.last_data = time.monotonic()

    def _run(self) -> None:
        lines = tail_lines(
            self.path, self.stop_event, poll_interval=self._poll_interval, on_data=self._on_data
        )
        append = self.items.append
        try:
            for item in iter_polls(lines):
                append(item)
        except BaseException as exc:  # handed to the event loop by `drain`
            self.error = exc

    def start(self) -> None:
        self._thread.start()

    @property
    def done(self) -> bool:
        return not self._thread.is_alive()

    def drain(self) -> list[Any]:
        """Records and Rejections parsed since the last call (see `error` once `done`)."""
        items = self.items
        return [items.popleft() for _ in range(len(items))]

    def stop(self, timeout: float = 10.0) -> None:
        """Stop tailing (a held-back partial last line is parsed as the last line)."""
        self.stop_event.set()
        self._thread.join(timeout)
