"""The revoked sessions file (``STREAMPROC_REVOKED_SESSIONS_FILE``), watched by every worker:
a session cookie lives up to ``STREAMPROC_SESSION_HOURS``, and a stolen or no longer wanted
one must stop working before that, on every worker, without a restart. The file is looked at
(stat) at most once a second and read again only when it changed; what its lines mean is in
:func:`streamproc.core.access.parse_revoked`."""

from __future__ import annotations

import logging
from pathlib import Path

from streamproc.core import access
from streamproc.web.file_watch import FileWatch

log = logging.getLogger("streamproc.web")


class RevokedSessions:
    """The current contents of the revoked sessions file (empty while it does not exist)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._watch = None if path is None else FileWatch(path)
        self._revoked: frozenset[str] = frozenset()

    def current(self) -> frozenset[str]:
        if self._watch is None:
            return frozenset()
        if self._watch.changed():
            self._reload()
        elif self._watch.missing:
            self._watch.seen, self._revoked = None, frozenset()
        return self._revoked

    def _reload(self) -> None:
        try:
            self._revoked = access.parse_revoked(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            log.exception("cannot read %s; keeping the sessions revoked so far", self.path)
            return
        self._watch.accept()
