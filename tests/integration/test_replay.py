"""`streamproc replay` against the real broker: topics, keys, partitions, configs, dead letters."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.partitioner import DefaultPartitioner

from producers.kafka_io import replay_topics
from streamproc import config
from streamproc.cli import replay as replay_cli
from streamproc.core import wire
from streamproc.sandbox import unique_name
from streamproc.sandbox.cli import command
from tests.support.kafka import read_topic

T0 = 1_674_000_000  # 2023-01-18 00:00:00 UTC, seconds
STORES = [str(7_000_000_000_000_000_000 + i * 104_729) for i in range(40)]


def ts(us: int) -> str:
    """Event time `us` microseconds after T0, as the real data writes it."""
    t = datetime.fromtimestamp(T0, UTC) + timedelta(microseconds=us)
    return t.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def make_data(tmp_path: Path, polls_per_store: int = 25) -> dict:
    rng = random.Random(7)
    rows = []
    for s in STORES:
        rows += [
            (s, rng.random() < 0.9, rng.randrange(3600 * 10**6)) for _ in range(polls_per_store)
        ]
    rng.shuffle(rows)
    lines = ["store_id,status,timestamp_utc"]
    lines += [f"{s},{'active' if up else 'inactive'},{ts(t)}" for s, up, t in rows]
    lines.insert(11, "12345,broken,2023-01-18 00:00:00")  # line 12
    lines.insert(21, "=cmd(),active,2023-01-18 00:00:00")  # line 22
    (tmp_path / "polls.csv").write_text("\n".join(lines) + "\n")
    hours = ["store_id,day,start_time_local,end_time_local"]
    for s in STORES[:30]:
        hours += [f"{s},{d},09:00:00,17:00:00" for d in range(5)]
    hours.append(f"{STORES[0]},9,09:00,10:00")  # line 152: bad day
    (tmp_path / "hours.csv").write_text("\n".join(hours) + "\n")
    zones = ["store_id,timezone_str"] + [f"{s},America/Denver" for s in STORES[:20]]
    zones += [f"{STORES[0]},Asia/Tokyo", f"{STORES[1]},Not/AZone"]
    (tmp_path / "zones.csv").write_text("\n".join(zones) + "\n")
    return {
        "polls": str(tmp_path / "polls.csv"),
        "hours": str(tmp_path / "hours.csv"),
        "timezones": str(tmp_path / "zones.csv"),
        "n_polls": len(rows),
        "expected": {
            s: sorted((T0 * 10**6 + t, up) for s2, up, t in rows if s2 == s) for s in STORES
        },
    }


@pytest.fixture
def topics(monkeypatch: pytest.MonkeyPatch, kafka_broker: str) -> Iterator[config.Settings]:
    for name in ("POLLS", "HOURS", "TIMEZONES", "DEADLETTER"):
        monkeypatch.setenv(f"STREAMPROC_TOPIC_{name}", unique_name(f"replay-{name.lower()}"))
    monkeypatch.setenv("STREAMPROC_BROKER", f"kafka://{kafka_broker}")
    settings = config.load()
    yield settings
    names = [s.name for s in replay_topics(settings)]
    asyncio.run(delete_topics(kafka_broker, names))


async def delete_topics(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(names)
    finally:
        await admin.close()


async def topic_layout(bootstrap: str, names: list[str]) -> tuple[dict, dict]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(names)
        partitions = {t["topic"]: len(t["partitions"]) for t in described}
        [response] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, n) for n in names]
        )
        configs = {res[3]: {entry[0]: entry[1] for entry in res[4]} for res in response.resources}
    finally:
        await admin.close()
    return partitions, configs


def check_partitions(records: list, n: int) -> None:
    for r in records:
        assert r.partition == DefaultPartitioner()(r.key, list(range(n)), [])


@pytest.mark.parametrize("mode", ["batch", "send"])
def test_fast_replay_roundtrip(
    tmp_path: Path, topics: config.Settings, kafka_broker: str, mode: str, capsys
) -> None:
    data = make_data(tmp_path)
    argv = ["--polls", data["polls"], "--hours", data["hours"], "--timezones", data["timezones"]]
    argv += ["--chunk-rows", "400", "--producer-mode", mode]
    assert replay_cli.main(argv) == 0
    out = capsys.readouterr().out
    assert f"{data['n_polls']:,} polls sent" in out
    assert "hours 30 stores; timezones 20 stores" in out
    assert "rejected 4 (hours 1, polls 2, timezones 1)" in out

    s = topics
    polls = read_topic(kafka_broker, s.topic_polls)
    got: dict[str, list] = {}
    for r in polls:
        got.setdefault(r.key.decode(), []).extend(wire.decode_polls(r.value))
    assert {k: sorted(v) for k, v in got.items()} == data["expected"]
    chunks = -(-(data["n_polls"] + 2) // 400)
    assert len(STORES) <= len(polls) <= len(STORES) * chunks
    check_partitions(polls, s.partitions)

    hours = read_topic(kafka_broker, s.topic_hours)
    assert len(hours) == 30
    assert all(len(wire.decode_hours(r.value)) == 5 for r in hours)
    check_partitions(hours, s.partitions)

    zones = read_topic(kafka_broker, s.topic_timezones)
    decoded = {r.key.decode(): wire.decode_timezone(r.value) for r in zones}
    assert len(zones) == 20 and decoded[STORES[0]] == "Asia/Tokyo"
    check_partitions(zones, s.partitions)

    dead = read_topic(kafka_broker, s.topic_deadletter)
    letters = sorted((r.key.decode(), orjson.loads(r.value)["line"]) for r in dead)
    assert letters == [("hours", 152), ("polls", 12), ("polls", 22), ("timezones", 23)]

    names = [s.topic_polls, s.topic_hours, s.topic_timezones, s.topic_deadletter]
    partitions, configs = asyncio.run(topic_layout(kafka_broker, names))
    assert partitions == dict(zip(names, [s.partitions] * 3 + [1], strict=True))
    assert configs[s.topic_hours]["cleanup.policy"] == "compact"
    assert configs[s.topic_timezones]["cleanup.policy"] == "compact"
    assert configs[s.topic_polls]["cleanup.policy"] == "delete"

    # Topics that exist already are fine; a source may be given alone.
    assert replay_cli.main(["--timezones", data["timezones"]]) == 0
    assert "timezones 20 stores" in capsys.readouterr().out


def test_speed_replay(tmp_path: Path, topics: config.Settings, kafka_broker: str, capsys) -> None:
    data = make_data(tmp_path, polls_per_store=3)  # event times over one hour
    assert replay_cli.main(["--polls", data["polls"], "--speed", "3600"]) == 0
    out = capsys.readouterr().out
    seconds = float(out.split(" s;")[0].rsplit(" ", 1)[1])
    assert 0.9 <= seconds < 10  # one event hour at x3600 takes about a second
    records = read_topic(kafka_broker, topics.topic_polls)
    # Live modes pack the stores of a partition into one keyless message per time slice.
    assert all(r.key is None for r in records)
    sent: dict[str, list] = {}
    for r in records:
        good, bad = wire.decode_packed_polls(r.value)
        assert not bad
        for store_id, polls in good:
            assert DefaultPartitioner()(store_id.encode(), list(range(topics.partitions)), [])\
                == r.partition
            sent.setdefault(store_id, []).extend((ts, bool(up)) for ts, up in polls)
    assert {s: sorted(p) for s, p in sent.items()} == data["expected"]
    slices = len({r.timestamp // 100 for r in records})
    assert slices > 1 and len(records) <= slices * topics.partitions  # not one per store


def test_follow_stops_cleanly_on_sigint(tmp_path: Path, topics: config.Settings) -> None:
    live = tmp_path / "live.csv"
    live.write_text(f"store_id,status,timestamp_utc\n{STORES[0]},active,{ts(0)}\n")
    proc = subprocess.Popen(
        command("replay", "--polls", str(live), "--follow"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        time.sleep(4)  # connected and tailing
        with open(live, "a") as f:
            f.write(f"{STORES[1]},inactive,{ts(1)}\n{STORES[2]},active,{ts(2)}")  # no newline
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "replay: 3 polls sent" in out
    assert "Traceback" not in err
