"""The channels on real parts, no mock of Apprise: Apprise's ``json://`` and ``form://`` to a
local aiohttp receiver, ``mailto://`` to a local SMTP server (aiosmtpd), the plain JSON
webhook, a refused channel retried then recorded as failed; no broker needed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from streamproc.core.access import token_hash
from streamproc.core.outages import sustained_event
from streamproc.core.records import US_PER_MINUTE
from streamproc.worker.alerting import Alerting
from streamproc.worker.channel_book import ChannelBook
from streamproc.worker.notifier import ChannelNotifier, Message
from tests.support.receivers import HttpReceiver, SmtpReceiver

T = 1_674_000_000_000_000
M = US_PER_MINUTE


@pytest.fixture
def smtp():
    server = SmtpReceiver()
    yield server
    server.stop()


def _send(url: str, message: Message) -> None:
    async def go() -> None:
        notifier = ChannelNotifier()
        try:
            await notifier.send(url, message)
        finally:
            await notifier.close()

    asyncio.run(go())


MESSAGE = Message("Store s1 is down", "Inactive since 2023-01-18T00:00:00Z.",
                  {"type": "outage", "alert_id": "s1:1:outage", "store_id": "s1"},
                  (("digest.csv", b"store_id,uptime\ns1,99.5\n"),))


def test_apprise_json_and_form_reach_a_local_http_receiver() -> None:
    receiver = HttpReceiver()
    _send(receiver.url("json", "alerts/j"), MESSAGE)
    _send(receiver.url("form", "alerts/f"), MESSAGE)
    got = receiver.wait(2)
    by_path = {r["path"]: r for r in got}
    doc = by_path["/alerts/j"]["json"]
    assert doc["title"] == "Store s1 is down" and doc["type"] == "failure"
    assert doc["message"].startswith("Inactive since")
    assert doc["attachments"][0]["filename"] == "digest.csv"
    assert by_path["/alerts/f"]["form"]["title"] == "Store s1 is down"


def test_apprise_mailto_reaches_a_local_smtp_server(smtp) -> None:
    _send(smtp.url("alice@example.com"), MESSAGE)
    [mail] = smtp.wait(1)
    assert smtp.logins == [(b"alerts", b"smtp-s3cret")], "the URL's login reached the server"
    assert mail["Subject"] == "Store s1 is down"
    assert "alice@example.com" in mail["To"]
    parts = {p.get_filename(): p for p in mail.walk() if p.get_filename()}
    assert parts["digest.csv"].get_payload(decode=True) == b"store_id,uptime\ns1,99.5\n"
    body = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    assert "Inactive since" in body.get_payload(decode=True).decode()


def test_the_plain_webhook_gets_the_alert_json_with_its_idempotency_key() -> None:
    receiver = HttpReceiver()
    _send(f"http://127.0.0.1:{receiver.port}/hook", MESSAGE)
    [got] = receiver.wait(1)
    assert got["json"] == MESSAGE.payload
    assert got["headers"]["Idempotency-Key"] == "s1:1:outage"


def test_an_owner_hears_by_mail_and_json_once_and_a_dead_channel_is_recorded(
        tmp_path: Path, smtp) -> None:
    receiver = HttpReceiver(fail_first=1)
    dead = "json://127.0.0.1:9/nobody-listens"  # port 9 (discard): connection refused
    owners = tmp_path / "owners.csv"
    owners.write_text(f"owner_id,token_sha256,store_id\nalice,{token_hash('t')},s1\n")
    channels = tmp_path / "channels.toml"
    channels.write_text(f'[owners.alice]\nurls = ["{receiver.url()}", "{smtp.url()}", '
                        f'"{dead}"]\n')
    table: dict[bytes, bytes] = {}

    async def go() -> dict:
        notifier = ChannelNotifier()
        alerting = Alerting(table, ChannelBook(channels, owners), notifier, attempts=2,
                            sleep=lambda s: asyncio.sleep(0.01))
        try:
            entry = await alerting.handle(sustained_event("s1", T, T + 40 * M, 40 * M))
            await alerting.handle(sustained_event("s1", T, T + 41 * M, 41 * M))  # no more
            return entry
        finally:
            await notifier.close()

    entry = asyncio.run(go())
    assert len(receiver.wait(1)) == 1 and receiver.attempts == 2, "retried after a 500"
    assert len(smtp.wait(1)) == 1
    statuses = {d["channel"]: d["status"] for d in entry["deliveries"]}
    assert sorted(statuses.values()) == ["failed", "sent", "sent"]
    assert "smtp-s3cret" not in str(entry) and "smtp-s3cret" not in str(table)
    assert len(receiver.received) == 1 and len(smtp.messages) == 1
