"""The owners file (``STREAMPROC_OWNERS_FILE``), watched by every worker: an owner added, a
token replaced or a store moved to another owner takes effect within a second, without a
restart. The file is looked at (stat) at most once a second and read again only when it
changed. A file that no longer parses, or lists nobody, is logged and the last good version
stays in force: a typo must neither open every store nor lock every owner out."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from streamproc.core import access
from streamproc.core.access import Principal

log = logging.getLogger("streamproc.web")
CHECK_S = 1.0  # how soon a change of the file takes effect


class OwnersFile:
    """The owners by token hash, as the file says now (its last good version)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._owners = read_owners(path)  # at start a bad file stops the worker
        self._seen = _signature(path)
        self._checked = time.monotonic()

    def current(self) -> dict[str, Principal]:
        now = time.monotonic()
        if now - self._checked >= CHECK_S:
            self._checked = now
            self._reload()
        return self._owners

    def _reload(self) -> None:
        seen = _signature(self.path)
        if seen is None or seen == self._seen:
            return
        try:
            owners = read_owners(self.path)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            log.error("owners file %s: %s; the owners read before stay in force",
                      self.path, exc)
            return
        self._seen, self._owners = seen, owners
        log.info("owners file %s read again: %d token(s)", self.path, len(owners))


def read_owners(path: Path) -> dict[str, Principal]:
    """The owners the file lists; ValueError naming the file when it lists none."""
    owners = access.parse_owners(path.read_text(encoding="utf-8"))
    if not owners:
        raise ValueError(f"owners file {path} lists no owner")
    return owners


def _signature(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None  # gone or unreadable for now: keep what was read
    return stat.st_mtime_ns, stat.st_size
