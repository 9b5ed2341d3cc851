"""The owners file (``STREAMPROC_OWNERS_FILE``), watched by every worker: an owner added, a
token replaced or a store moved to another owner takes effect within a second, without a
restart. The file is looked at (stat) at most once a second and read again only when it
changed. A file that no longer parses, or lists nobody, is logged and the last good version
stays in force: a typo must neither open every store nor lock every owner out."""

from __future__ import annotations

import logging
from pathlib import Path

from streamproc.core import access
from streamproc.core.access import Principal
from streamproc.web.file_watch import FileWatch, signature

log = logging.getLogger("streamproc.web")


class OwnersFile:
    """The owners by token hash, as the file says now (its last good version)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._owners = read_owners(path)  # at start a bad file stops the worker
        self._watch = FileWatch(path, signature(path))

    def current(self) -> dict[str, Principal]:
        if self._watch.changed():
            self._reload()
        return self._owners

    def _reload(self) -> None:
        try:
            owners = read_owners(self.path)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            log.error("owners file %s: %s; the owners read before stay in force",
                      self.path, exc)
            return
        self._watch.accept()
        self._owners = owners
        log.info("owners file %s read again: %d token(s)", self.path, len(owners))


def read_owners(path: Path) -> dict[str, Principal]:
    """The owners the file lists; ValueError naming the file when it lists none."""
    owners = access.parse_owners(path.read_text(encoding="utf-8"))
    if not owners:
        raise ValueError(f"owners file {path} lists no owner")
    return owners
