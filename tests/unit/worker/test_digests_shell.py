"""The digests' shell (worker/digests.py) with an in-memory notifier, the report's rows from
the batch path and a dict as the table: one digest per slot, only the owner's stores,
compared with the previous one; nothing on a worker that does not hold the alerts."""

from __future__ import annotations

import asyncio
import csv
import io

from streamproc.core.access import token_hash
from streamproc.core.records import US_PER_DAY, US_PER_HOUR
from streamproc.core.report_rows import build_states, report_rows
from streamproc.worker.alerting import Alerting
from streamproc.worker.channel_book import ChannelBook
from streamproc.worker.digests import Digests
from streamproc.worker.notifier import MemoryNotifier
from tests.support.stream import T0, synthetic

ALICE = "json://alice.example.com/digest"


def _setup(tmp_path, holds: bool = True):
    polls, hours, zones = synthetic(5, stores=10, days=9)
    stores = sorted({p[0] for p in polls})
    owners = tmp_path / "owners.csv"
    owners.write_text("owner_id,token_sha256,store_id\n" + "".join(
        f"alice,{token_hash('t')},{s}\n" for s in stores[:4]))
    channels = tmp_path / "channels.toml"
    channels.write_text(f'[owners.alice]\nurls = ["{ALICE}"]\ntimezone = "Europe/Berlin"\n'
                        'digest_daily = "08:00"\ndigest_weekly = "Mon 09:00"\n')
    asked: list[int] = []

    async def rows_at(as_of: int):
        asked.append(as_of)
        states, now = build_states(polls, hours, zones, as_of)
        return report_rows(states, now, figures=True)

    notifier = MemoryNotifier()
    table: dict[bytes, bytes] = {}
    alerting = Alerting(table, ChannelBook(channels, owners), notifier)

    async def save(key: bytes, value: bytes) -> None:
        table[key] = value
    clock = {"now": T0 + 8 * US_PER_DAY + 10 * US_PER_HOUR}  # Thu 2023-01-26 11:00 Berlin
    digests = Digests(alerting, rows_at, lambda: holds, lambda: clock["now"], save)
    return digests, notifier, clock, asked, set(stores[:4])


def test_one_digest_per_slot_of_the_owners_stores_with_the_change(tmp_path) -> None:
    digests, notifier, clock, asked, mine = _setup(tmp_path)
    sent = asyncio.run(digests.tick())
    assert sorted(p["kind"] for p in sent) == ["daily", "weekly"]
    daily = next(p for p in sent if p["kind"] == "daily")
    assert daily["period_end"].startswith("2023-01-26T07:00:00"), "08:00 in Berlin"
    weekly = next(p for p in sent if p["kind"] == "weekly")
    assert weekly["period_end"].startswith("2023-01-23T08:00:00"), "Monday 09:00 in Berlin"
    assert sorted(asked) == sorted([T0 + 8 * US_PER_DAY + 7 * US_PER_HOUR,
                                    T0 + 5 * US_PER_DAY + 8 * US_PER_HOUR])
    assert daily["previous_uptime_percent"] is None
    url, message = notifier.sent[0]
    assert url == ALICE
    [(name, data)] = message.attachments
    assert name.endswith(".csv")
    assert {r["store_id"] for r in csv.DictReader(io.StringIO(data.decode()))} == mine
    assert asyncio.run(digests.tick()) == [], "sent: not again"

    clock["now"] += US_PER_DAY  # the next morning
    [again] = asyncio.run(digests.tick())
    assert again["kind"] == "daily" and again["period_end"].startswith("2023-01-27T07:00")
    assert again["previous_uptime_percent"] == daily["uptime_percent"]
    assert again["change_points"] == round(again["uptime_percent"] - daily["uptime_percent"], 2)
    assert len(notifier.sent) == 3


def test_a_worker_without_the_alerts_sends_nothing(tmp_path) -> None:
    digests, notifier, _, asked, _ = _setup(tmp_path, holds=False)
    assert asyncio.run(digests.tick()) == []
    assert notifier.sent == [] and asked == []
