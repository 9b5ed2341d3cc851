"""The revoked sessions file (``STREAMPROC_REVOKED_SESSIONS_FILE``), watched by every worker:
a session cookie lives up to ``STREAMPROC_SESSION_HOURS``, and a stolen or no longer wanted
one must stop working before that, on every worker, without a restart. The file is looked at
(stat) at most once a second and read again only when it changed; what its lines mean is in
:func:`streamproc.core.access.parse_revoked`."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from streamproc.core import access

log = logging.getLogger("streamproc.web")
CHECK_S = 1.0  # how soon a change of the file takes effect


class RevokedSessions:
    """The current contents of the revoked sessions file (empty while it does not exist)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._seen: tuple[int, int] | None = None
        self._checked = float("-inf")
        self._revoked: frozenset[str] = frozenset()

    def current(self) -> frozenset[str]:
        if self.path is None:
            return frozenset()
        now = time.monotonic()
        if now - self._checked >= CHECK_S:
            self._checked = now
            self._reload()
        return self._revoked

    def _reload(self) -> None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._seen, self._revoked = None, frozenset()
            return
        except OSError:
            log.exception("cannot read %s; keeping the sessions revoked so far", self.path)
            return
        seen = (stat.st_mtime_ns, stat.st_size)
        if seen != self._seen:
            try:
                self._revoked = access.parse_revoked(self.path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError):
                log.exception("cannot read %s; keeping the sessions revoked so far",
                              self.path)
                return
            self._seen = seen
