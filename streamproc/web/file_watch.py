"""A file every worker watches (the owners file, the revoked sessions file): looked at (stat)
at most once per :data:`CHECK_S` seconds, and read again only when it changed."""

from __future__ import annotations

import time
from pathlib import Path

CHECK_S = 1.0  # how soon a change of the file takes effect


class FileWatch:
    """``changed()`` says, at most once per :data:`CHECK_S`, whether the file's (mtime,
    size) differs from the last one :meth:`accept` recorded; ``missing`` after a check that
    found no file (a file that cannot be looked at is neither: what was read stays)."""

    def __init__(self, path: Path, seen: tuple[int, int] | None = None) -> None:
        self.path = path
        self.seen = seen
        self.missing = False
        self._pending: tuple[int, int] | None = None
        self._checked = float("-inf") if seen is None else time.monotonic()

    def changed(self) -> bool:
        now = time.monotonic()
        if now - self._checked < CHECK_S:
            return False
        self._checked = now
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._pending, self.missing = None, True
            return False
        except OSError:
            self._pending, self.missing = None, False  # unreadable for now: keep what was read
            return False
        self._pending, self.missing = (stat.st_mtime_ns, stat.st_size), False
        return self._pending != self.seen

    def accept(self) -> None:
        """The change just reported was read: the next one is measured from it."""
        self.seen = self._pending


def signature(path: Path) -> tuple[int, int] | None:
    """(mtime ns, size) of the file; None when it is missing or cannot be looked at."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size
