"""Where an alert message goes: a tiny interface, so the alerting is testable without network.

:class:`ChannelNotifier` sends through Apprise (one URL scheme for ~100 services) and POSTs
the alert's JSON to plain ``http(s)://`` URLs (``STREAMPROC_ALERT_WEBHOOK``'s documented
format, with ``Idempotency-Key``); :class:`MemoryNotifier` keeps messages in a list for unit
tests and fails the URLs it is told to. A failure raises :class:`NotifyFailed` whose text
never holds the URL (it may hold a secret): callers log it with the masked URL.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp
import apprise
import orjson

WEBHOOK_TIMEOUT_S = 10.0
APPRISE_TYPES = {"outage": apprise.NotifyType.FAILURE, "did_not_open": apprise.NotifyType.WARNING,
                 "recovery": apprise.NotifyType.SUCCESS}


@dataclass(frozen=True)
class Message:
    """What a channel receives: a title and body for people, the alert's JSON for machines,
    and attachments (file name, bytes) such as a digest's CSV."""

    title: str
    body: str
    payload: dict[str, Any]
    attachments: tuple[tuple[str, bytes], ...] = ()


class NotifyFailed(Exception):
    """A channel did not take the message (the text names why, never the URL)."""


class Notifier(Protocol):
    async def send(self, url: str, message: Message) -> None:
        """Deliver ``message`` to ``url`` once; raise :class:`NotifyFailed` if it failed."""


class ChannelNotifier:
    """Apprise for every URL scheme it knows; ``http(s)://`` as the plain JSON webhook."""

    def __init__(self, timeout_s: float = WEBHOOK_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None

    async def send(self, url: str, message: Message) -> None:
        if url.startswith(("http://", "https://")):
            await self._post(url, message)
        else:
            await asyncio.to_thread(_apprise_send, url, message)

    async def _post(self, url: str, message: Message) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_s))
        headers = {"Content-Type": "application/json",
                   "Idempotency-Key": str(message.payload.get("alert_id", ""))}
        try:
            async with self._session.post(url, data=orjson.dumps(message.payload),
                                          headers=headers) as resp:
                if not 200 <= resp.status < 300:
                    raise NotifyFailed(f"HTTP {resp.status}")
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise NotifyFailed(type(exc).__name__) from None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def _apprise_send(url: str, message: Message) -> None:
    """One Apprise URL, blocking (run in a thread: Apprise's plugins use blocking I/O)."""
    sender = apprise.Apprise()
    if not sender.add(url):
        raise NotifyFailed("not an Apprise URL this version knows")
    kind = APPRISE_TYPES.get(message.payload.get("type", ""), apprise.NotifyType.INFO)
    # Attachments as files: some plugins (form://) open an attachment's path, so Apprise's
    # in-memory attachments do not reach every service.
    with tempfile.TemporaryDirectory(prefix="streamproc-attach-") as folder:
        attach = None
        if message.attachments:
            attach = apprise.AppriseAttachment()
            for name, data in message.attachments:
                path = Path(folder) / Path(name).name
                path.write_bytes(data)
                attach.add(str(path))
        ok = sender.notify(body=message.body, title=message.title, notify_type=kind,
                           attach=attach)
    if not ok:
        raise NotifyFailed("the service did not accept it (see the apprise log)")


@dataclass
class MemoryNotifier:
    """Keeps every (url, message); the URLs in ``failing`` fail that many more times
    (``-1``: always)."""

    sent: list[tuple[str, Message]] = field(default_factory=list)
    failing: dict[str, int] = field(default_factory=dict)
    attempts: int = 0

    async def send(self, url: str, message: Message) -> None:
        self.attempts += 1
        left = self.failing.get(url, 0)
        if left:
            self.failing[url] = left - 1 if left > 0 else left
            raise NotifyFailed("refused (test)")
        self.sent.append((url, message))
