"""The channels file and the owners file, read again when they change: who hears about a
store is a file an operator edits while the worker runs, so no restart is needed.

The rules are pure (:mod:`streamproc.core.channels`); this reads the files. A file that
changed into something invalid is reported once (masked) and the last good version is kept,
so a typo never silences every owner; an invalid file at start is an error (the worker does
not start).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from streamproc.core import access
from streamproc.core.channels import Audience, Channels, parse_channels, with_webhook

log = logging.getLogger("streamproc.worker.channel_book")
RECHECK_S = 1.0  # the files' modification times are looked at most this often


class ChannelBook:
    """The audiences of each store, from the channels file, the owners file and
    ``STREAMPROC_ALERT_WEBHOOK`` (an operator URL)."""

    def __init__(self, channels_file: Path | None, owners_file: Path | None,
                 webhook: str | None = None) -> None:
        self.channels_file = channels_file
        self.owners_file = owners_file
        self.webhook = webhook
        self._stamp: tuple | None = None
        self._checked = 0.0
        self.channels = Channels()
        self.owners_of: dict[str, frozenset[str]] = {}
        self._load(strict=True)

    def audiences(self, store_id: str) -> list[Audience]:
        """Who hears about ``store_id`` (the files as they are now)."""
        self.refresh()
        return self.channels.audiences(store_id, self.owners_of.get(store_id, ()))

    def audience(self, name: str) -> Audience | None:
        self.refresh()
        if name == "operator":
            return self.channels.operator
        return self.channels.owners.get(name)

    def digest_audiences(self) -> list[Audience]:
        """The operator and the owners who asked for a daily or weekly digest."""
        self.refresh()
        everyone = [self.channels.operator, *self.channels.owners.values()]
        return [a for a in everyone if a is not None and a.urls and (
            a.digest_daily_us is not None or a.digest_weekly is not None)]

    def stores_of(self, owner_id: str) -> frozenset[str]:
        """The stores an owner has in the owners file."""
        self.refresh()
        return frozenset(s for s, owners in self.owners_of.items() if owner_id in owners)

    def refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < RECHECK_S:
            return
        self._checked = now
        if _stamp(self.channels_file, self.owners_file) != self._stamp:
            self._load(strict=False)

    def _load(self, strict: bool) -> None:
        stamp = _stamp(self.channels_file, self.owners_file)
        try:
            channels = Channels()
            if self.channels_file is not None:
                channels = parse_channels(self.channels_file.read_text(encoding="utf-8"))
            owners_of: dict[str, set[str]] = {}
            if self.owners_file is not None:
                text = self.owners_file.read_text(encoding="utf-8")
                for principal in access.parse_owners(text).values():
                    for store in principal.stores:
                        owners_of.setdefault(store, set()).add(principal.owner_id)
        except (OSError, ValueError) as exc:
            if strict:
                raise ValueError(str(exc)) from None
            log.error("channels not reloaded, keeping the previous ones: %s", exc)
            self._stamp = stamp  # reported once per change
            return
        self.channels = with_webhook(channels, self.webhook)
        self.owners_of = {s: frozenset(o) for s, o in owners_of.items()}
        self._stamp = stamp
        log.info("channels loaded: operator %d url(s), %d owner(s)",
                 len(self.channels.operator.urls) if self.channels.operator else 0,
                 len(self.channels.owners))


def _stamp(*paths: Path | None) -> tuple:
    out = []
    for path in paths:
        try:
            st = path.stat() if path is not None else None
        except OSError:
            st = None
        out.append(None if st is None else (st.st_mtime_ns, st.st_size))
    return tuple(out)
