"""Alerts through Apprise from a real worker on the real broker: a store that did not open
and a store that went down each page once, a worker killed between the outage and its
message sends that message once after its restart (not zero times, not twice), and the
store's alert history shows what was sent."""

from __future__ import annotations

import signal
import time

from streamproc.core import wire
from streamproc.core.records import US_PER_HOUR, US_PER_MINUTE
from streamproc.sandbox import WorkerProcess
from streamproc.sandbox.http import get_json, request
from tests.support.kafka import send_raw
from tests.support.live import SseReader, produce_polls
from tests.support.receivers import HttpReceiver
from tests.support.worker_fixture import started_peers, wait_split

T0 = 1_674_000_000_000_000  # 2023-01-18T00:00:00Z
M = US_PER_MINUTE
FAST = {"BROKER_SESSION_TIMEOUT": "8", "BROKER_HEARTBEAT_INTERVAL": "1"}


def _hours_9_to_17_utc(env: dict[str, str], store: str) -> None:
    rows = [(d, 9 * US_PER_HOUR, 17 * US_PER_HOUR) for d in range(7)]
    sent = send_raw(env, [
        (env["STREAMPROC_TOPIC_HOURS"], store.encode(), wire.encode_hours(rows)),
        (env["STREAMPROC_TOPIC_TIMEZONES"], store.encode(), wire.encode_timezone("UTC")),
    ])
    assert all(isinstance(s, tuple) for s in sent), sent


def _types(receiver: HttpReceiver) -> list[tuple[str, str]]:
    """(alert type, store) of each message received: Apprise's json:// carries our title."""
    out = []
    for item in receiver.received:
        title = item["json"]["title"]
        kind = ("did_not_open" if "did not open" in title else
                "outage" if "is down" in title else "recovery")
        out.append((kind, title.split()[1]))
    return out


def test_did_not_open_and_an_outage_page_once_even_when_killed_before_sending(
        worker_env, tmp_path) -> None:
    receiver = HttpReceiver()
    channels = tmp_path / "channels.toml"
    channels.write_text(f'[operator]\nurls = ["{receiver.url("json", "ops")}"]\n')
    env = dict(worker_env, STREAMPROC_CHANNELS_FILE=str(channels), STREAMPROC_ALERT_AFTER="2",
               STREAMPROC_NO_OPEN_AFTER="60", STREAMPROC_NOTIFY_DELAY="5", **FAST)
    late, down = "late-store", "down-store"
    handle = WorkerProcess(env, tmp_path / "worker.log")
    with handle.running():
        _hours_9_to_17_utc(env, late)
        # late-store opens at 09:00; seen inactive at 09:10 and 10:20: did not open
        produce_polls(env, [(late, [(T0 + 8 * US_PER_HOUR, True)])])  # before opening
        produce_polls(env, [(late, [(T0 + 9 * US_PER_HOUR + 10 * M, False)])])
        produce_polls(env, [(late, [(T0 + 10 * US_PER_HOUR + 20 * M, False)])])
        got = receiver.wait(2, timeout=60)  # down 70 business minutes: an outage as well
        assert sorted(_types(receiver)) == [("did_not_open", late), ("outage", late)], got
        dno = next(g for g in got if "did not open" in g["json"]["title"])
        assert "opening at 2023-01-18T09:00:00" in dno["json"]["message"]
        first = _types(receiver)

        # down-store (24x7) goes down at 10:22 and has been down 3 business minutes at 10:25
        reader = SseReader(handle.base_url)
        base = T0 + 10 * US_PER_HOUR + 21 * M
        produce_polls(env, [(down, [(base, True)])])
        produce_polls(env, [(down, [(base + M, False)])])
        produce_polls(env, [(down, [(base + 4 * M, False)])])
        reader.wait_for(lambda e: e["kind"] == "sustained" and e["store_id"] == down)
        time.sleep(1.5)  # the alerts agent has the event and waits 5 s before sending
        assert len(receiver.received) == 2, "killed before the outage message was sent"
        handle.kill(signal.SIGKILL)
        reader.close()  # (after the kill: closing the stream can take seconds)

        handle.start()  # same state, same group: the event is read again
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(receiver.received) < 3:
            time.sleep(0.2)
        time.sleep(15)  # the opening scan and the outage scan ran again: nothing more comes
        assert _types(receiver) == [*first, ("outage", down)]

        history = get_json(handle.base_url, f"/stores/{down}/alerts")
        [alert] = history["alerts"]
        assert alert["type"] == "outage" and alert["store_id"] == down
        [delivery] = alert["deliveries"]
        assert delivery["status"] == "sent" and delivery["audience"] == "operator"
        assert delivery["channel"] == f"json://127.0.0.1:{receiver.port}/***"
        late_history = get_json(handle.base_url, f"/stores/{late}/alerts")["alerts"]
        assert sorted(a["type"] for a in late_history) == ["did_not_open", "outage"]
        assert request(handle.base_url, "/stores/bad%20id/alerts", timeout=10)[0] == 400


def _alerts_holder(handles: list[WorkerProcess], table: str) -> WorkerProcess:
    """The worker that holds the (one) alerts partition, once both workers agree."""
    deadline = time.monotonic() + 90
    while True:
        views = []
        for h in handles:
            meta = get_json(h.base_url, "/router/")
            views.append({host.rstrip("/") for host, tps in meta.items() if tps.get(table)})
        if views[0] == views[1] and len(views[0]) == 1:
            [url] = views[0]
            return next(h for h in handles if h.base_url == url)
        assert time.monotonic() < deadline, f"no agreed holder of {table}: {views}"
        time.sleep(0.5)


def test_the_worker_taking_over_sends_the_message_of_one_killed_before_sending(
        worker_env, tmp_path) -> None:
    receiver = HttpReceiver()
    channels = tmp_path / "channels.toml"
    channels.write_text(f'[operator]\nurls = ["{receiver.url("json", "ops")}"]\n')
    env = dict(worker_env, STREAMPROC_CHANNELS_FILE=str(channels), STREAMPROC_ALERT_AFTER="2",
               STREAMPROC_NOTIFY_DELAY="5", **FAST)
    with started_peers(env, tmp_path, "ab") as handles:
        wait_split(handles)
        table = f"{env['STREAMPROC_APP_ID']}-outage-alerts-changelog"
        holder = _alerts_holder(handles, table)
        other = next(h for h in handles if h is not holder)
        store = "takeover-store"  # 24x7
        reader = SseReader(other.base_url)
        produce_polls(env, [(store, [(T0, True)])])
        produce_polls(env, [(store, [(T0 + M, False)])])
        produce_polls(env, [(store, [(T0 + 4 * M, False)])])
        reader.wait_for(lambda e: e["kind"] == "sustained" and e["store_id"] == store)
        time.sleep(1.5)  # the holder has the event and waits 5 s before sending
        assert receiver.received == []
        holder.kill(signal.SIGKILL)
        reader.close()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not receiver.received:
            time.sleep(0.2)
        time.sleep(10)  # the survivor's outage scan published it again: nothing more comes
        assert _types(receiver) == [("outage", store)]
        [alert] = get_json(other.base_url, f"/stores/{store}/alerts")["alerts"]
        assert alert["deliveries"][0]["status"] == "sent"
