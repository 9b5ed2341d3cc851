"""producers.replay against the in-memory sink: ordering, grouping, dead letters, modes, CLI."""

from __future__ import annotations

import argparse
import asyncio
import gzip
import threading
import time
from pathlib import Path

import orjson
import pytest

from producers import replay
from producers.follow import FollowError
from producers.replay import Replayer, Topics
from producers.sinks import MemorySink, default_partition
from streamproc import config
from streamproc.cli import replay as replay_cli
from streamproc.core import wire
from streamproc.core.records import US_PER_HOUR, US_PER_SECOND
from tests.support.replaying import run_memory

TOPICS = Topics("p", "h", "z", "dlq")
T0 = 1_674_000_000 * US_PER_SECOND  # 2023-01-18 00:00:00 UTC


def ts(seconds: int) -> str:
    from datetime import UTC, datetime

    t = datetime.fromtimestamp(T0 / 1e6 + seconds, UTC)
    return t.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


POLLS = "\n".join(
    [
        "store_id,status,timestamp_utc",
        f"a,active,{ts(0)}",
        f"b,inactive,{ts(10)}",
        f"a,inactive,{ts(20)}",
        "a,maybe,2023-01-18 00:00:00",  # line 5: bad status
        f"c,active,{ts(30)}",
        f"a,active,{ts(40)}",
        f"b,active,{ts(50)}",
    ]
)
HOURS = "\n".join(
    [
        "store_id,dayOfWeek,start_time_local,end_time_local",
        "a,0,09:00,17:00",
        "a,1,09:00,12:00",
        "b,7,09:00,17:00",  # line 4: bad day
        "a,1,13:00,17:00",
        "b,2,00:00,00:00",
    ]
)
ZONES = "store_id,timezone_str\na,America/New_York\nb,Asia/Tokyo\na,Europe/Paris\nc,Mars/Base\n"


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    data = text.encode()
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return str(path)


def polls_of(sink: MemorySink, topic: str = "p") -> dict[str, list[tuple[int, bool]]]:
    out: dict[str, list[tuple[int, bool]]] = {}
    for m in sink.on(topic):
        if m.key is None:  # packed: many stores, each in its own partition
            good, bad = wire.decode_packed_polls(m.value)
            assert not bad
            n = sink.partitions.get(topic, 1)
            assert all(default_partition(sid.encode(), n) == m.partition for sid, _ in good)
        else:
            good = [(m.key.decode(), wire.decode_polls(m.value))]
        for store_id, polls in good:
            out.setdefault(store_id, []).extend(polls)
    return out


def dead_letters(sink: MemorySink) -> list[dict]:
    return [orjson.loads(m.value) for m in sink.on("dlq")]


def test_fast_chunks_group_per_store_per_chunk(tmp_path: Path) -> None:
    sink = MemorySink(partitions={"p": 8})
    r = Replayer(sink, TOPICS, chunk_rows=3)
    asyncio.run(r.send_polls_fast(replay.iter_polls(write(tmp_path, "p.csv", POLLS))))
    # chunks of 3 rows: [a, b, a] [bad, c, a] [b]
    keys = [m.key for m in sink.on("p")]
    assert keys == [b"a", b"b", b"c", b"a", b"b"]
    first = wire.decode_polls(sink.on("p")[0].value)
    assert first == [(T0, True), (T0 + 20 * US_PER_SECOND, False)]
    assert all(m.partition == replay_partition(m.key) for m in sink.on("p"))
    assert r.summary.polls == 6 and r.summary.messages == 5 and r.summary.rows == 7
    assert r.summary.rejected == {"polls": 1}
    [dead] = dead_letters(sink)
    assert dead["source"] == "polls" and dead["line"] == 5 and "maybe" in dead["reason"]
    assert sink.on("dlq")[0].key == b"polls"
    assert sink.flushes >= 1 and sink.flushed_upto[-1] == len(sink.messages)


def replay_partition(key: bytes) -> int:
    from aiokafka.partitioner import DefaultPartitioner

    return DefaultPartitioner()(key, list(range(8)), [])


def test_fast_default_chunk_one_message_per_store(tmp_path: Path) -> None:
    sink = MemorySink()
    r = Replayer(sink, TOPICS)
    asyncio.run(r.send_polls_fast(replay.iter_polls(write(tmp_path, "p.csv.gz", POLLS))))
    assert sorted(m.key for m in sink.on("p")) == [b"a", b"b", b"c"]
    assert len(polls_of(sink)["a"]) == 3


def test_limit_counts_poll_rows(tmp_path: Path) -> None:
    sink = MemorySink()
    r = Replayer(sink, TOPICS, chunk_rows=2, limit=4)
    asyncio.run(r.send_polls_fast(replay.iter_polls(write(tmp_path, "p.csv", POLLS))))
    assert r.summary.rows == 4
    assert r.summary.polls == 3 and r.summary.rejected["polls"] == 1


def test_hours_full_set_per_store_and_timezones_last_wins(tmp_path: Path) -> None:
    sink = MemorySink()
    r = Replayer(sink, TOPICS)
    asyncio.run(r.send_hours(write(tmp_path, "h.csv", HOURS)))
    asyncio.run(r.send_timezones(write(tmp_path, "z.csv", ZONES)))
    hours = {m.key: wire.decode_hours(m.value) for m in sink.on("h")}
    h = US_PER_HOUR
    assert hours == {
        b"a": [(0, 9 * h, 17 * h), (1, 9 * h, 12 * h), (1, 13 * h, 17 * h)],
        b"b": [(2, 0, 0)],
    }
    assert len(sink.on("h")) == 2
    zones = {m.key: wire.decode_timezone(m.value) for m in sink.on("z")}
    assert zones == {b"a": "Europe/Paris", b"b": "Asia/Tokyo"}
    assert r.summary.hours_stores == 2 and r.summary.timezone_stores == 2
    assert r.summary.rejected == {"hours": 1, "timezones": 1}
    lines = {(d["source"], d["line"]) for d in dead_letters(sink)}
    assert lines == {("hours", 4), ("timezones", 5)}


def test_paced_replay_with_fake_clock(tmp_path: Path) -> None:
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    text = "store_id,status,timestamp_utc\n" + "\n".join(
        [f"b,active,{ts(7200)}", f"a,active,{ts(0)}", f"a,inactive,{ts(3600)}", "x,y,z"]
    )
    sink = MemorySink()
    r = Replayer(sink, TOPICS, clock=lambda: now[0], sleep=sleep)
    sent_at: list[tuple[float, list[str]]] = []
    real_send_to = sink.send_to

    async def send_to(topic, partition, key, value):
        assert topic == "p" and key is None  # live modes send packed messages
        stores = [sid for sid, _ in wire.decode_packed_polls(value)[0]]
        sent_at.append((round(now[0], 6), stores))
        await real_send_to(topic, partition, key, value)

    sink.send_to = send_to  # type: ignore[method-assign]
    asyncio.run(r.send_polls_paced(replay.iter_polls(write(tmp_path, "p.csv", text)), 3600, 0.05))
    assert sent_at == [(0.0, ["a"]), (1.0, ["a"]), (2.0, ["b"])]
    assert r.summary.polls == 3 and r.summary.rejected == {"polls": 1}
    assert sink.on("dlq")[0] is sink.messages[0]  # rejections go out before the slices


def test_follow_a_growing_file(tmp_path: Path) -> None:
    path = tmp_path / "live.csv"
    path.write_text(f"store_id,status,timestamp_utc\na,active,{ts(0)}\n")

    def writer() -> None:
        time.sleep(0.3)
        with open(path, "a") as f:
            f.write(f"b,inactive,{ts(1)}\nbad row\na,act")  # a partial last line...
            f.flush()
            time.sleep(0.3)
            f.write(f"ive,{ts(2)}\n")  # ...completed later
            f.flush()
            time.sleep(0.2)
            f.write(f"c,active,{ts(3)}")  # no newline at all: taken when the tail stops
            f.flush()

    thread = threading.Thread(target=writer)
    thread.start()
    sink = MemorySink()
    r = Replayer(sink, TOPICS)
    started = time.monotonic()
    asyncio.run(r.follow_polls(path, idle_exit=0.6, tick=0.05))
    thread.join()
    assert time.monotonic() - started < 5
    assert polls_of(sink) == {
        "a": [(T0, True), (T0 + 2 * US_PER_SECOND, True)],
        "b": [(T0 + US_PER_SECOND, False)],
        "c": [(T0 + 3 * US_PER_SECOND, True)],
    }
    [dead] = dead_letters(sink)
    assert dead["line"] == 4 and dead["reason"] == "expected 3 fields, got 1"
    assert r.summary.rows == 5 and sink.flushes >= 3  # sent as it arrived, not at the end


def test_follow_limit_and_stop(tmp_path: Path) -> None:
    path = write(tmp_path, "live.csv", POLLS + "\n")
    sink = MemorySink()
    r = Replayer(sink, TOPICS, limit=2)
    asyncio.run(r.follow_polls(path, idle_exit=30, tick=0.05))
    assert r.summary.rows == 2 and r.summary.polls == 2


def test_follow_gzip_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "live.csv.gz", POLLS)
    r = Replayer(MemorySink(), TOPICS)
    with pytest.raises(FollowError, match="gzip"):
        asyncio.run(r.follow_polls(path, idle_exit=1))


# --------------------------------------------------------------------------- whole command


def args_for(**kw) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    replay_cli.add_arguments(parser)
    argv: list[str] = []
    for name, value in kw.items():
        flag = "--" + name.replace("_", "-")
        argv += [flag] if value is True else [flag, str(value)]
    return parser.parse_args(argv)


def test_zones_and_hours_go_first_then_polls(tmp_path: Path) -> None:
    args = args_for(
        polls=write(tmp_path, "p.csv", POLLS),
        hours=write(tmp_path, "h.csv", HOURS),
        timezones=write(tmp_path, "z.csv", ZONES),
    )
    summary, sink = run_memory(args)
    s = config.Settings()
    order = [m.topic for m in sink.messages if m.topic != s.topic_deadletter]
    first_poll = order.index(s.topic_polls)
    assert set(order[:first_poll]) == {s.topic_timezones, s.topic_hours}
    assert order.index(s.topic_timezones) < order.index(s.topic_hours)
    assert set(order[first_poll:]) == {s.topic_polls}
    assert first_poll + 2 in sink.flushed_upto  # + 2 dead letters before the polls
    # the zones are in Kafka before the hours are parsed (the worker applies meanwhile)
    zones_flushed = sink.flushed_upto[0]
    assert {m.topic for m in sink.messages[:zones_flushed]} == {s.topic_timezones,
                                                                s.topic_deadletter}
    assert [m.topic for m in sink.messages].index(s.topic_hours) >= zones_flushed
    assert summary.polls == 6 and summary.hours_stores == 2 and summary.timezone_stores == 2
    line = summary.line()
    assert "6 polls sent in 3 messages" in line
    assert "rejected 3 (hours 1, polls 1, timezones 1)" in line


def test_any_source_alone(tmp_path: Path) -> None:
    summary, sink = run_memory(args_for(timezones=write(tmp_path, "z.csv", ZONES)))
    assert summary.timezone_stores == 2 and summary.polls == 0
    assert {m.topic for m in sink.messages} == {"store-timezones", "streamproc-deadletter"}


def test_cli_errors_are_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    assert replay_cli.main([]) == 2
    assert "give at least one of" in capsys.readouterr().err

    assert replay_cli.main(["--polls", str(tmp_path / "nope.csv")]) == 2
    err = capsys.readouterr().err
    assert err.strip().endswith("no such file") and err.count("\n") == 1

    bad = write(tmp_path, "bad.csv", "store,status,timestamp_utc\n1,active,x\n")
    assert replay_cli.main(["--polls", bad]) == 2
    err = capsys.readouterr().err
    assert "bad header" in err and "store_id" in err and "Traceback" not in err

    monkeypatch.setenv("STREAMPROC_BROKER", "kafka://127.0.0.1:1")
    started = time.monotonic()
    assert replay_cli.main(["--timezones", write(tmp_path, "z.csv", ZONES)]) == 3
    err = capsys.readouterr().err
    assert err.startswith("streamproc replay: cannot reach Kafka at 127.0.0.1:1 (")
    assert err.count("\n") == 1
    assert time.monotonic() - started < 15


def test_estimate_rows(tmp_path: Path) -> None:
    text = "store_id,status,timestamp_utc\n" + f"1234567,active,{ts(0)}\n" * 5000
    for name in ("e.csv", "e.csv.gz"):
        estimate = replay.estimate_rows(write(tmp_path, name, text))
        assert estimate is not None and abs(estimate - 5000) < 50
    assert replay.estimate_rows(tmp_path / "missing.csv") is None


def test_polls_reader_close_stops_the_gzip_thread(tmp_path: Path) -> None:
    text = "store_id,status,timestamp_utc\n" + f"1234567,active,{ts(0)}\n" * 200_000
    before = threading.active_count()
    reader = replay._Polls(write(tmp_path, "big.csv.gz", text))
    assert next(reader)[0] == "1234567"
    reader.close()
    assert threading.active_count() == before


def test_chunks_start_small_and_double_up_to_chunk_rows() -> None:
    from itertools import islice

    assert list(islice(replay.chunk_sizes(2_000_000), 7)) == [
        50_000, 100_000, 200_000, 400_000, 800_000, 1_600_000, 2_000_000]
    assert list(islice(replay.chunk_sizes(3), 3)) == [3, 3, 3]


def test_the_first_chunk_is_sent_before_the_rest_is_parsed(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Growing chunks: the messages of the first rows are handed to the sink before the
    later rows are read (the worker starts applying while the replay parses)."""
    monkeypatch.setattr(replay, "FIRST_CHUNK_ROWS", 2)
    read: list[int] = []
    sent_when: list[int] = []

    class Watching(MemorySink):
        async def send(self, topic, key, value):  # noqa: ANN001
            sent_when.append(len(read))
            await super().send(topic, key, value)

    def items():  # noqa: ANN202
        for i, item in enumerate(replay.iter_polls(write(tmp_path, "p.csv", POLLS))):
            read.append(i)
            yield item

    sink = Watching(partitions={"p": 8})
    r = Replayer(sink, TOPICS, chunk_rows=100)
    asyncio.run(r.send_polls_fast(items()))
    # chunks of 2, then 4 rows, then the rest: [a, b] [a, bad, c, a] [b]
    assert [m.key for m in sink.on("p")] == [b"a", b"b", b"a", b"c", b"b"]
    assert sent_when[0] <= 3, "the first chunk left after 2 rows (one read ahead), not all 7"
    assert polls_of(sink)["a"] == [(T0, True), (T0 + 20 * US_PER_SECOND, False),
                                   (T0 + 40 * US_PER_SECOND, True)]
