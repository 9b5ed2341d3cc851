"""Hostile input: malformed CSV rows and malformed messages written straight to the topics.

* CSVs: every kind of bad row is injected into a clean generated data set. Each must be
  rejected with a reason (the dead-letter topic holds exactly those rows, by source and line
  number), nothing good is lost (the worker's report equals the batch report of the clean
  files), the worker keeps running, and every CSV the service writes (the report from
  /snapshot.csv and /get_report, the batch command's report and its --rejects file) is safe
  to open in a spreadsheet: no cell starts with = + - @ (or a tab / carriage return).
* Raw messages (aiokafka, not the producers): non-JSON, wrong types, huge lists, bad keys,
  null values on the polls topic, a 900 KB value... each goes to the dead-letter topic with a
  reason, no agent dies (/health answers, later good data is still processed).
"""

from __future__ import annotations

import csv
import io
import random
import time
from pathlib import Path

import orjson
import pytest

from streamproc.sandbox import WorkerProcess, run_cli, wait_for
from streamproc.sandbox.http import trigger_report, wait_report
from tests.support.data import SOURCES, batch_report, replay_args
from tests.support.kafka import dead_letters, send_raw
from tests.support.reliability import first_diff, snapshot
from tests.support.worker_fixture import isolated_worker

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
TS = "2023-03-10 12:00:00.000000 UTC"
TEN_MB = 10 * 1024 * 1024


def _bad_polls(known: str) -> list[tuple[str, bytes]]:
    """(what, raw physical line(s) without the final newline)."""
    return [
        ("too few columns", f"{known},active".encode()),
        ("too many columns", f"{known},active,{TS},extra".encode()),
        ("bad UTF-8 in id", b"12\xff\xfe34,active," + TS.encode()),
        ("bad UTF-8 in status", f"{known},act".encode() + b"\xc3\x28" + f"ive,{TS}".encode()),
        ("year 9999", f"{known},active,9999-12-31 23:59:59.000000 UTC".encode()),
        ("year 0", f"{known},inactive,0000-01-01 00:00:00 UTC".encode()),
        ("year 1969", f"{known},inactive,1969-12-31 23:59:59 UTC".encode()),
        ("Feb 30", f"{known},active,2023-02-30 10:00:00 UTC".encode()),
        ("hour 25", f"{known},active,2023-03-10 25:00:00 UTC".encode()),
        ("number as timestamp", f"{known},active,1e308".encode()),
        ("negative timestamp", f"{known},active,-1".encode()),
        ("NaN timestamp", f"{known},active,NaN".encode()),
        ("empty timestamp", f"{known},active,".encode()),
        ("bad status", f"{known},maybe,{TS}".encode()),
        ("empty id", f",active,{TS}".encode()),
        ("blank id", f"   ,active,{TS}".encode()),
        ("id with a comma", f'"12,34",active,{TS}'.encode()),
        ("id with a quote", f'"12""34",active,{TS}'.encode()),
        ("id with a newline", f'"12\n34",active,{TS}'.encode()),
        ("formula =cmd", f"=cmd|' /C calc'!A0,active,{TS}".encode()),
        ("formula quoted", f'"=HYPERLINK(""http://x"",""y"")",active,{TS}'.encode()),
        ("formula +", f"+1+1,active,{TS}".encode()),
        ("formula -", f"-2+3,active,{TS}".encode()),
        ("formula @", f"@SUM(A1),active,{TS}".encode()),
        ("tab then formula", f"\t=1+1,active,{TS}".encode()),
        ("id too long", f"{'9' * 200},active,{TS}".encode()),
        ("unterminated quote", f'"{known},active,{TS}'.encode()),
        ("10 MB line", b"7" * TEN_MB + b",active," + TS.encode()),
        ("NUL byte", f"12\x0034,active,{TS}".encode()),
    ]


def _bad_hours(known: str) -> list[tuple[str, bytes]]:
    return [
        ("day 7", f"{known},7,09:00:00,17:00:00".encode()),
        ("day -1", f"{known},-1,09:00:00,17:00:00".encode()),
        ("day x", f"{known},x,09:00:00,17:00:00".encode()),
        ("25:00", f"{known},1,25:00:00,26:00:00".encode()),
        ("minute 60", f"{known},1,09:60:00,17:00:00".encode()),
        ("empty time", f"{known},1,,17:00:00".encode()),
        ("too few columns", f"{known},1,09:00:00".encode()),
        ("empty id", b",1,09:00:00,17:00:00"),
        ("formula id", b"=1+1,1,09:00:00,17:00:00"),
        ("bad UTF-8", b"\xff,1,09:00:00,17:00:00"),
    ]


def _bad_zones(known: str) -> list[tuple[str, bytes]]:
    return [
        ("unknown zone", f"{known},Mars/Olympus_Mons".encode()),
        ("path as zone", f"{known},../../etc/passwd".encode()),
        ("empty zone", f"{known},".encode()),
        ("too many columns", f"{known},America/Chicago,x".encode()),
        ("formula id", b"@evil,America/Chicago"),
        ("id with newline", b'"a\nb",America/Chicago'),
    ]


def _inject(src: Path, dst: Path, bad: list[tuple[str, bytes]], rng: random.Random
            ) -> dict[int, str]:
    """Copy ``src`` to ``dst`` with the bad rows at random places; {first line no: what}."""
    lines = src.read_bytes().splitlines()
    header, body = lines[0], [[line] for line in lines[1:]]
    marked: list[tuple[list[bytes], str | None]] = [(row, None) for row in body]
    for what, raw in bad:
        marked.insert(rng.randrange(len(marked) + 1), (raw.split(b"\n"), what))
    out: dict[int, str] = {}
    lineno = 2
    with dst.open("wb") as f:
        f.write(header + b"\n")
        for physical, what in marked:
            if what is not None:
                out[lineno] = what
            f.write(b"\n".join(physical) + b"\n")
            lineno += len(physical)
    return out


def _unsafe_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row
            if cell[:1] in DANGEROUS]


@pytest.mark.timeout(180)
def test_malformed_csv_rows_rejected_nothing_good_lost(kafka_broker, dataset, expected,
                                                       tmp_path, say):
    rng = random.Random(99)
    known = (dataset / SOURCES[2]).read_text().splitlines()[1].split(",")[0]
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    injected: dict[tuple[str, int], str] = {}
    for name, source, bad in (("store_status.csv", "polls", _bad_polls(known)),
                              ("menu_hours.csv", "hours", _bad_hours(known)),
                              ("timezones.csv", "timezones", _bad_zones(known))):
        for line, what in _inject(dataset / name, hostile / name, bad, rng).items():
            injected[(source, line)] = what

    # the batch command on the hostile files: same report as on the clean ones
    rejects = tmp_path / "rejects.csv"
    batch_hostile = batch_report(hostile, tmp_path / "batch-hostile.csv", "--rejects",
                                 str(rejects))
    assert batch_hostile == expected, first_diff(batch_hostile, expected)
    reject_rows = list(csv.reader(io.StringIO(rejects.read_text())))[1:]
    assert {(r[0], int(r[1])) for r in reject_rows} == set(injected)
    assert not _unsafe_cells(rejects.read_text()), _unsafe_cells(rejects.read_text())

    with isolated_worker(kafka_broker, tmp_path) as handle:
        env = handle.env
        started = time.monotonic()
        proc = run_cli(env, *replay_args(hostile, None, "--chunk-rows", "4000"))
        say(f"{len(injected)} bad rows injected ({sum(s == 'polls' for s, _ in injected)} "
            f"polls incl. a 10 MB line, {sum(s == 'hours' for s, _ in injected)} hours, "
            f"{sum(s == 'timezones' for s, _ in injected)} zones); replay in "
            f"{time.monotonic() - started:.1f}s: {proc.stdout.strip()}")
        report = snapshot(handle)
        assert handle.process is not None and handle.process.poll() is None
        dead = dead_letters(env)
        got = {(d["source"], d["line"]): d["reason"] for d in dead}
        missing = {k: v for k, v in injected.items() if k not in got}
        extra = {k: v for k, v in got.items() if k not in injected}
        reasons = sorted({f"{injected[k]} -> {v[:60]}" for k, v in got.items() if k in injected})
        say(f"dead-letter topic: {len(dead)} records, {len(got)} distinct (source, line); "
            f"missing {missing or 'none'}, unexpected {extra or 'none'}")
        for line in reasons:
            say("  rejected:", line)
        assert len(dead) == len(injected) and not missing and not extra
        assert all(v for v in got.values()), "every rejection has a reason"
        assert report == expected, first_diff(report, expected)

        api_csv = _api_report(handle)
        unsafe = _unsafe_cells(report) + _unsafe_cells(api_csv)
        say(f"report equals batch of the clean files: {report == expected}; /get_report CSV "
            f"identical: {api_csv == report}; cells starting with = + - @ in the report CSVs "
            f"and the batch --rejects CSV: {len(unsafe)}; worker alive, health "
            f"{handle.health()['status']}")
        assert api_csv == report and not unsafe


def _api_report(handle: WorkerProcess) -> str:
    rid = trigger_report(handle.base_url)
    return wait_report(handle.base_url, rid, 120, every=0.2).decode()


# -- raw messages ------------------------------------------------------------------------


def _raw_messages(env: dict[str, str], known: str) -> list[tuple[str, bytes | None, bytes | None,
                                                                 str]]:
    polls, hours, tz = (env[f"STREAMPROC_TOPIC_{t}"] for t in ("POLLS", "HOURS", "TIMEZONES"))
    k = known.encode()
    ts = 1_678_000_000_000_000
    deep = b"[" * 5000 + b"]" * 5000
    return [
        (polls, k, b"not json at all", "non-JSON"),
        (polls, k, b"\xff\xfe\x00garbage", "binary garbage"),
        (polls, k, b'{"t": "x", "a": []}', "t not a list"),
        (polls, k, b'{"t": [1.5], "a": [1]}', "float timestamp"),
        (polls, k, b'{"t": [true], "a": [1]}', "bool timestamp"),
        (polls, k, orjson.dumps({"t": [ts], "a": [2]}), "flag 2"),
        (polls, k, orjson.dumps({"t": [ts], "a": ["1"]}), "string flag"),
        (polls, k, orjson.dumps({"t": [ts, ts], "a": [1]}), "length mismatch"),
        (polls, k, orjson.dumps({"t": [-5], "a": [1]}), "negative timestamp"),
        (polls, k, b'{"t": [100000000000000000000], "a": [1]}', "timestamp beyond 64 bits"),
        (polls, k, orjson.dumps({"t": [ts * 1000], "a": [1]}), "year > 2100"),
        (polls, k, orjson.dumps({"t": [0] * 100_001, "a": [1] * 100_001}), "100,001 polls"),
        (polls, k, b"[" + b"1," * 450_000 + b"1]", "900 KB JSON list"),
        (polls, k, deep, "5000-deep nesting"),
        (polls, k, b"null", "JSON null"),
        (polls, k, None, "null value"),
        (polls, None, orjson.dumps({"t": [ts], "a": [1]}), "no key"),
        (polls, b"\xff\xfe", orjson.dumps({"t": [ts], "a": [1]}), "key not UTF-8"),
        (polls, b"=cmd|' /C calc'!A0", orjson.dumps({"t": [ts], "a": [1]}), "formula key"),
        (polls, b"a,b", orjson.dumps({"t": [ts], "a": [1]}), "key with comma"),
        (polls, b"", orjson.dumps({"t": [ts], "a": [1]}), "empty key"),
        (hours, k, orjson.dumps({"hours": [[7, 0, 1]]}), "hours day 7"),
        (hours, k, orjson.dumps({"hours": [[0, 0, 86_400_000_000]]}), "hours end 24:00"),
        (hours, k, orjson.dumps({"hours": [[0, 0]]}), "hours row of 2"),
        (hours, k, orjson.dumps({"hours": [[0, 0, 1]] * 337}), "337 hours rows"),
        (hours, k, b'{"hours": "always"}', "hours a string"),
        (hours, k, b"{{{", "hours non-JSON"),
        (hours, b"@x", orjson.dumps({"hours": [[0, 0, 1]]}), "hours formula key"),
        (tz, k, b'{"tz": "Mars/Olympus_Mons"}', "unknown zone"),
        (tz, k, b'{"tz": "../../etc/localtime"}', "path as zone"),
        (tz, k, b'{"tz": 5}', "zone a number"),
        (tz, k, b"{}", "zone missing"),
        (tz, None, b'{"tz": "America/Chicago"}', "zone without key"),
    ]


@pytest.mark.timeout(180)
def test_malformed_messages_on_the_topics(kafka_broker, dataset, expected, tmp_path, say):
    known = (dataset / SOURCES[2]).read_text().splitlines()[1].split(",")[0]
    with isolated_worker(kafka_broker, tmp_path) as handle:
        env = handle.env
        bad = _raw_messages(env, known)
        where = send_raw(env, [(topic, key, value) for topic, key, value, _ in bad])
        refused = [(w, type(r).__name__) for r, (*_, w) in zip(where, bad, strict=True)
                   if not isinstance(r, tuple)]
        what = {f"{r[0]}[{r[1]}]@{r[2]}": w for r, (*_, w) in zip(where, bad, strict=True)
                if isinstance(r, tuple)}
        say(f"refused by the broker itself (never reach the worker): {refused}")
        assert all(w == "zone without key" for w, _ in refused), refused
        wait_for(lambda: handle.health()["rejected"] >= len(what), 60, "the bad messages")
        doc = handle.health()
        say(f"{len(what)} malformed messages written to the input topics; worker rejected "
            f"{doc['rejected']}, health {doc['status']}")
        dead = dead_letters(env)
        got = {d["reason"].split(":", 1)[0]: d["reason"].split(":", 1)[1].strip()
               for d in dead}
        for spot, reason in sorted(got.items(), key=lambda kv: list(what).index(kv[0])
                                   if kv[0] in what else -1):
            say(f"  {what.get(spot, '?'):26s} -> {reason[:90]}")
        assert len(dead) == len(what) and set(got) == set(what), (sorted(got), sorted(what))
        assert all(got.values()), "every rejection has a reason"
        assert doc["rejected"] == len(what)

        # the agents are alive: good data afterwards is processed completely
        run_cli(env, *replay_args(dataset, None, "--chunk-rows", "5000"))
        report = snapshot(handle)
        say(f"good data replayed afterwards: report equals batch: {report == expected}")
        assert report == expected, first_diff(report, expected)
        assert handle.process is not None and handle.process.poll() is None
