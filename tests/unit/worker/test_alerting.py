"""Alerting's shell (worker/alerting.py) with an in-memory notifier and a dict as the table:
who is sent what, once; retries then "failed" in the history; a muted owner recorded, not
sent; an alert interrupted half-way resumed without sending twice; the files re-read."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from streamproc.core.access import token_hash
from streamproc.core.outages import sustained_event
from streamproc.core.records import US_PER_MINUTE
from streamproc.worker import channel_book
from streamproc.worker.alerting import Alerting
from streamproc.worker.channel_book import ChannelBook
from streamproc.worker.notifier import MemoryNotifier, Message, NotifyFailed

T = 1_674_000_000_000_000  # 2023-01-18T00:00:00Z, a Wednesday
M = US_PER_MINUTE
OPS, ALICE, BOB = "json://ops.example.com/a", "json://alice.example.com/b", "ntfy://bob-topic"


async def _no_sleep(_s: float) -> None:
    return None


def _files(tmp_path: Path, extra_alice: str = "") -> tuple[Path, Path]:
    owners = tmp_path / "owners.csv"
    owners.write_text("owner_id,token_sha256,store_id\n"
                      f"alice,{token_hash('a-token')},s1\n"
                      f"bob,{token_hash('b-token')},s2\n")
    channels = tmp_path / "channels.toml"
    channels.write_text(f'[operator]\nurls = ["{OPS}"]\n'
                        f'[owners.alice]\nurls = ["{ALICE}"]\n{extra_alice}\n'
                        f'[owners.bob]\nurls = ["{BOB}"]\n')
    return channels, owners


def _alerting(tmp_path: Path, notifier, extra_alice: str = "", attempts: int = 3):
    channels, owners = _files(tmp_path, extra_alice)
    table: dict[bytes, bytes] = {}
    book = ChannelBook(channels, owners)
    return Alerting(table, book, notifier, attempts=attempts, sleep=_no_sleep), table


def _outage(store: str = "s1", since: int = T, now: int = T + 40 * M) -> dict:
    return sustained_event(store, since, now, now - since)


def _recovery(store: str = "s1", since: int = T, at: int = T + 50 * M) -> dict:
    return {"kind": "up", "store_id": store, "since_us": at, "since": "x",
            "watermark_us": at, "watermark": "x", "down_business_s": (at - since) / 1e6}


def test_an_outage_goes_to_the_operator_and_the_stores_owner_once(tmp_path) -> None:
    notifier = MemoryNotifier()
    alerting, _ = _alerting(tmp_path, notifier)
    entry = asyncio.run(alerting.handle(_outage()))
    assert sorted(url for url, _ in notifier.sent) == sorted([OPS, ALICE]), "not bob's"
    message = notifier.sent[0][1]
    assert message.title == "Store s1 is down" and "40.0 business minutes" in message.body
    assert [d["status"] for d in entry["deliveries"]] == ["sent", "sent"]
    asyncio.run(alerting.handle(_outage(now=T + 45 * M)))  # the scan again, or a replay
    assert len(notifier.sent) == 2
    asyncio.run(alerting.handle(_recovery()))
    assert [m.payload["type"] for _, m in notifier.sent[2:]] == ["recovery", "recovery"]
    history = alerting.history("s1")
    assert [e["type"] for e in history] == ["outage", "recovery"]
    assert all("alice.example.com/b" not in str(e) for e in history), "URLs only masked"


def test_a_failing_channel_is_retried_then_recorded_as_failed(tmp_path) -> None:
    notifier = MemoryNotifier(failing={OPS: 2, ALICE: -1})
    alerting, table = _alerting(tmp_path, notifier, attempts=4)
    entry = asyncio.run(alerting.handle(_outage()))
    by_audience = {d["audience"]: d for d in entry["deliveries"]}
    assert by_audience["operator"]["status"] == "sent"
    assert by_audience["operator"]["attempts"] == 3
    assert by_audience["alice"]["status"] == "failed"
    assert by_audience["alice"]["attempts"] == 4 and by_audience["alice"]["reason"]
    assert notifier.attempts == 3 + 4
    assert b'"failed":true' in table[b"s1"]
    assert alerting.history("s1")[-1]["deliveries"] == entry["deliveries"]


def test_a_muted_owner_is_recorded_not_sent(tmp_path) -> None:
    notifier = MemoryNotifier()
    alerting, _ = _alerting(tmp_path, notifier, 'mute_until = "2023-01-19T00:00:00Z"')
    entry = asyncio.run(alerting.handle(_outage()))
    assert [url for url, _ in notifier.sent] == [OPS]
    alice = next(d for d in entry["deliveries"] if d["audience"] == "alice")
    assert alice["status"] == "muted" and "2023-01-19" in alice["reason"]


def test_an_alert_interrupted_half_way_resumes_without_sending_twice(tmp_path) -> None:
    class DiesOnAlice(MemoryNotifier):
        async def send(self, url: str, message: Message) -> None:
            if url == ALICE:
                raise asyncio.CancelledError  # the worker stops in the middle of the alert
            await super().send(url, message)

    first = DiesOnAlice()
    alerting, table = _alerting(tmp_path, first)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(alerting.handle(_outage()))
    assert [url for url, _ in first.sent] == [OPS]
    assert b"s1" not in table, "the decision is written only after the deliveries"
    second = MemoryNotifier()
    alerting.notifier = second
    entry = asyncio.run(alerting.handle(_outage()))  # the event is delivered again
    assert [url for url, _ in second.sent] == [ALICE]
    assert [d["status"] for d in entry["deliveries"]] == ["sent", "sent"]
    asyncio.run(alerting.handle(_outage()))
    assert len(second.sent) == 1


def test_the_channels_file_is_read_again_when_it_changes(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(channel_book, "RECHECK_S", 0.0)
    notifier = MemoryNotifier()
    alerting, _ = _alerting(tmp_path, notifier)
    channels = tmp_path / "channels.toml"
    channels.write_text(f'[owners.alice]\nurls = ["{BOB}", "{ALICE}"]\n# longer now\n')
    asyncio.run(alerting.handle(_outage()))
    assert sorted(url for url, _ in notifier.sent) == sorted([BOB, ALICE])
    channels.write_text("[owners.alice\nbroken")  # a typo keeps the last good file
    asyncio.run(alerting.handle(_recovery()))
    assert sorted(url for url, _ in notifier.sent[2:]) == sorted([BOB, ALICE])


def test_a_notifier_error_never_carries_the_url() -> None:
    async def fail() -> None:
        notifier = MemoryNotifier(failing={ALICE: 1})
        with pytest.raises(NotifyFailed) as info:
            await notifier.send(ALICE, Message("t", "b", {}))
        assert "alice" not in str(info.value)

    asyncio.run(fail())
