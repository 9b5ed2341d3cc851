"""Real receivers for alert channels on 127.0.0.1: an HTTP server (Apprise's ``json://``
and ``form://``, or the plain JSON webhook) and an SMTP server (aiosmtpd, for ``mailto://``).
Each runs in a thread of its own and keeps what it received."""

from __future__ import annotations

import asyncio
import email
import threading
import time
from email.message import Message as EmailMessage
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from streamproc.sandbox import free_port


class HttpReceiver:
    """Answers POST /<anything>; the first ``fail_first`` requests get a 500."""

    def __init__(self, fail_first: int = 0) -> None:
        self.port = free_port()
        self.received: list[dict[str, Any]] = []  # {"path", "headers", "json"|"form"}
        self.attempts = 0
        self.fail_first = fail_first
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()
        assert self._started.wait(10)

    def url(self, scheme: str = "json", path: str = "hook") -> str:
        return f"{scheme}://127.0.0.1:{self.port}/{path}"

    def _serve(self) -> None:
        async def any_post(request: web.Request) -> web.Response:
            self.attempts += 1
            if self.attempts <= self.fail_first:
                return web.Response(status=500)
            item: dict[str, Any] = {"path": request.path, "headers": dict(request.headers),
                                    "at": time.time()}
            if request.content_type == "application/json":
                item["json"] = await request.json()
            else:
                item["form"] = dict(await request.post())
            self.received.append(item)
            return web.Response(text="ok")

        async def main() -> None:
            app = web.Application()
            app.router.add_post("/{tail:.*}", any_post)
            runner = web.AppRunner(app)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
            self._started.set()

        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(main())
        self._loop.run_forever()

    def wait(self, n: int, timeout: float = 60) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.received) < n:
            time.sleep(0.1)
        return list(self.received)


class SmtpReceiver:
    """A real SMTP server (aiosmtpd) keeping every message it accepts."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.logins: list[tuple[bytes, bytes]] = []
        # AUTH without TLS (a loopback test server): the channel URLs carry a password, as
        # an owner's real ones do, and the server checks it
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port,
                                     authenticator=self._authenticate, auth_require_tls=False)
        self.controller.start()

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = (auth_data.login, auth_data.password) == (b"alerts", b"smtp-s3cret")
        self.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=ok)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def url(self, to: str = "owner@example.com") -> str:
        """A ``mailto://`` URL sending through this server without TLS, with a password (so
        the tests can check that it is masked)."""
        return (f"mailto://alerts:smtp-s3cret@127.0.0.1:{self.port}?smtp=127.0.0.1"
                f"&from=alerts@example.com&to={to}&secure=no&mode=insecure")

    def wait(self, n: int, timeout: float = 60) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.messages) < n:
            time.sleep(0.1)
        return list(self.messages)

    def stop(self) -> None:
        self.controller.stop()
