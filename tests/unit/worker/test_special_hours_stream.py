"""Special hours on the stream's side, without a broker: wire format, worker, replay.

Whatever order the messages arrive in (polls, hours, zones, special hours, a date changed
later), the worker's states give the batch report.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from datetime import date
from pathlib import Path

import pytest

from streamproc import config
from streamproc.cli import replay as replay_cli
from streamproc.core import wire
from streamproc.core.hours import CLOSED
from streamproc.core.records import US_PER_DAY, US_PER_HOUR
from streamproc.core.report_rows import compute_report, report_rows
from streamproc.worker.processing import Incoming, Processor, Watermarks
from streamproc.worker.statestore import StateCache
from tests.support.replaying import run_memory

H = US_PER_HOUR
XMAS = (date(2026, 12, 25) - date(1970, 1, 1)).days
T0 = XMAS * US_PER_DAY - 3 * US_PER_DAY  # 2026-12-22 00:00 UTC


def test_wire_round_trip_and_rejections():
    rows = [(XMAS, CLOSED, CLOSED), (XMAS + 6, 18 * H, 2 * H)]
    value = wire.encode_special(rows)
    assert b'"2026-12-25",null,null' in value
    assert wire.decode_special(value) == rows
    assert wire.encode_special([]) is None and wire.decode_special(None) is None
    for bad, fragment in [
        (b'{"special": [["2026-12-25", null, 5]]}', "both null"),
        (b'{"special": [["2026-02-30", null, null]]}', "does not exist"),
        (b'{"special": [[20812, null, null]]}', "expected [date"),
        (b'{"special": [["2026-12-25", 0, 86400000000]]}', "within a day"),
        (b'{"hours": []}', "'special'"),
    ]:
        with pytest.raises(wire.WireError, match=fragment.replace("[", r"\[")):
            wire.decode_special(bad)


def _data(rng: random.Random):
    polls, hours, zones, special = [], [], [], []
    for i in range(8):
        sid = f"s{i}"
        for h in range(6 * 24):
            polls.append((sid, T0 + h * H + rng.randrange(H), rng.random() > 0.2))
        if i % 3:
            hours += [(sid, d, 9 * H, 17 * H) for d in range(7)]
        zones.append((sid, rng.choice(["America/New_York", "Europe/Berlin", "UTC"])))
        if i % 2:
            special += [(sid, XMAS, CLOSED, CLOSED), (sid, XMAS + 1, 20 * H, 3 * H)]
    return polls, hours, zones, special


def _messages(polls, hours, zones, special, rng):
    def key(sid: str) -> bytes:
        return sid.encode()

    msgs = [("polls", key(s), wire.encode_polls([(ts, up)])) for s, ts, up in polls]
    by_store: dict[str, list] = {}
    for s, *row in hours:
        by_store.setdefault(s, []).append(tuple(row))
    msgs += [("hours", key(s), wire.encode_hours(rows)) for s, rows in by_store.items()]
    msgs += [("tz", key(s), wire.encode_timezone(tz)) for s, tz in zones]
    special_by: dict[str, list] = {}
    for s, *row in special:
        special_by.setdefault(s, []).append(tuple(row))
    # a first, different version of each store's special dates that a later message replaces
    msgs += [("special", key(s), wire.encode_special([(XMAS + 2, 0, 0)])) for s in special_by]
    rng.shuffle(msgs)
    msgs += [("special", key(s), wire.encode_special(rows)) for s, rows in special_by.items()]
    return [Incoming(t, 0, i, k, v) for i, (t, k, v) in enumerate(msgs)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_arrival_order_gives_the_batch_report(seed: int):
    rng = random.Random(seed)
    polls, hours, zones, special = _data(rng)
    dead: list = []
    proc = Processor(StateCache({}), Watermarks({}), dead.append)
    save = lambda state, _msg: proc.cache.save(state)  # noqa: E731
    apply = {"hours": proc.apply_hours, "tz": proc.apply_timezone, "special": proc.apply_special}
    for m in _messages(polls, hours, zones, special, rng):
        if m.topic == "polls":
            proc.apply_polls([m], save)
        else:
            apply[m.topic](m, save)
    assert dead == []
    now = max(ts for _, ts, _ in polls)
    states = {sid: proc.cache.get(sid) for sid in {p[0] for p in polls}}
    got = report_rows(states, now)
    want = compute_report(polls, hours, zones, special=special)
    assert got == want
    assert want != compute_report(polls, hours, zones)  # the special hours did matter


def test_bad_special_message_goes_to_the_dead_letters():
    dead: list = []
    proc = Processor(StateCache({}), Watermarks({}), dead.append)
    proc.apply_special(Incoming("special", 0, 7, b"42", b'{"special": [["x", null, null]]}'),
                       lambda s, m: None)
    assert len(dead) == 1 and "special[0]@7" in dead[0].reason


def test_replay_sends_one_message_per_store_and_rejects_bad_rows(tmp_path: Path):
    path = tmp_path / "special.csv"
    path.write_text("store_id,date,start_time_local,end_time_local\n"
                    "a,2026-12-25,,\na,2026-12-31,18:00,02:00\nb,2026-12-25,10:00,\n"
                    "c,2026-12-24,10:00,14:00\n")
    parser = argparse.ArgumentParser()
    replay_cli.add_arguments(parser)
    args = parser.parse_args(["--special-hours", str(path)])
    summary, sink = run_memory(args)
    s = config.Settings()
    sent = {m.key: wire.decode_special(m.value) for m in sink.messages
            if m.topic == s.topic_special_hours}
    assert sent == {b"a": [(XMAS, CLOSED, CLOSED), (XMAS + 6, 18 * H, 2 * H)],
                    b"c": [(XMAS - 1, 10 * H, 14 * H)]}
    dead = [m for m in sink.messages if m.topic == s.topic_deadletter]
    assert len(dead) == 1 and b"leave both empty" in dead[0].value
    assert summary.special_stores == 2 and "special hours 2 stores" in summary.line()


def test_generated_special_hours_parse_cleanly_and_cover_every_kind():
    from streamproc import csvfiles
    from streamproc.synthetic import (
        DST_START,
        SPECIAL_HEADER,
        GenConfig,
        generate,
        special_hours_lines,
    )

    cfg = GenConfig(stores=120, days=8, seed=5, start=DST_START, dst=True)
    data = generate(cfg)
    lines = special_hours_lines(cfg, data.stores)
    assert lines == special_hours_lines(cfg, generate(cfg).stores)  # deterministic
    rows = list(csvfiles.iter_special_hours([SPECIAL_HEADER, *lines]))
    assert rows and not [r for r in rows if not isinstance(r, tuple)]
    polled = {s.store_id for s in data.stores if s.polled}
    assert {r[0] for r in rows} <= polled  # no new store: the report's rows are unchanged
    shapes = {(s, e) for _, _, s, e in rows}
    assert (CLOSED, CLOSED) in shapes and (10 * H, 2 * H) in shapes  # closures, late nights
    assert (1 * H, 5 * H) in shapes  # across the missing hour of 2023-03-12
    dst_day = (date(2023, 3, 12) - date(1970, 1, 1)).days
    assert any(d == dst_day and s == 1 * H for _, d, s, _ in rows)


# --------------------------------------------------------------------------- public events


def _special_event(sid: str, *rows: tuple) -> bytes:
    import json

    return json.dumps({"type": "special_hours", "store_id": sid, "special_hours": [
        {"date": d, "start_time_local": s, "end_time_local": e} for d, s, e in rows]}).encode()


def test_special_hours_event_is_the_csv_rows_of_its_store():
    from streamproc import csvfiles
    from streamproc.core.events import SpecialHoursEvent, decode_event

    rows = [("2026-12-25", None, None), ("2026-12-31", "18:00", "02:00"), ("2026-12-26", "", "")]
    event = decode_event(_special_event("9009", *rows))
    csv_rows = list(csvfiles.iter_special_hours(
        ["store_id,date,start_time_local,end_time_local",
         *(f"9009,{d},{s or ''},{e or ''}" for d, s, e in rows)]))
    assert event == SpecialHoursEvent("9009", tuple(r[1:] for r in csv_rows))
    assert decode_event(_special_event("9009")) == SpecialHoursEvent("9009", ())
    assert decode_event(_special_event("1", ("2026-02-30", None, None))) == (
        "special_hours: special_hours[0]: date '2026-02-30': day 30 does not exist in 2026-02")
    assert "leave both empty" in decode_event(_special_event("1", ("2026-12-25", "10:00", None)))


def test_special_hours_events_are_forwarded_to_the_special_topic():
    from streamproc.kafka.partitioning import partition_of
    from streamproc.worker.event_intake import forward_events

    dead: list = []
    proc = Processor(StateCache({}), Watermarks({}), dead.append)
    batch = [Incoming("events", 0, 0, None, _special_event("a", ("2026-12-25", None, None))),
             Incoming("events", 0, 1, None, _special_event("b", ("2026-12-24", "10:00", "14:00"))),
             Incoming("events", 0, 2, None, _special_event("b"))]  # the last set wins: none
    sent = []

    async def send(topic: str, partition: int, key: bytes, value: bytes | None):
        sent.append((topic, partition, key, value))
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    assert asyncio.run(forward_events(batch, proc, send, 4)) == 2
    closed = wire.encode_special([(XMAS, CLOSED, CLOSED)])
    assert sent == [
        ("special_hours", partition_of("a", 4), b"a", closed),
        ("special_hours", partition_of("b", 4), b"b", None),
    ]
    assert dead == []


def test_post_events_csv_body_of_special_hours():
    from streamproc.core.event_bodies import decode_body
    from streamproc.core.events import SpecialHoursEvent

    body = (b"store_id,date,start_time_local,end_time_local\n"
            b"a,2026-12-25,,\nb,2026-12-31,18:00,02:00\na,2026-12-26,10:00,14:00\n"
            b"c,2026-12-25,10:00,\n")
    batch = decode_body(body, "text/csv")
    assert batch.events == [
        SpecialHoursEvent("a", ((XMAS, CLOSED, CLOSED), (XMAS + 1, 10 * H, 14 * H))),
        SpecialHoursEvent("b", ((XMAS + 6, 18 * H, 2 * H),)),
    ]
    assert [(r.line, "leave both empty" in r.reason) for r in batch.rejections] == [(5, True)]
    line = b'{"type": "special_hours", "store_id": "a", "special_hours": []}\n'
    ndjson = decode_body(line, "application/x-ndjson")
    assert ndjson.events == [SpecialHoursEvent("a", ())]
