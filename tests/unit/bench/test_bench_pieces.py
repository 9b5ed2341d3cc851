"""The pure pieces of `streamproc bench` (bench/harness.py, bench/profiling.py, ...) and the
percentile it shares with the tests (streamproc/sandbox/stats.py). The bench itself runs in
tests/integration/test_bench_quick.py."""

from __future__ import annotations

import gzip
import math
import os
from pathlib import Path

from bench import harness
from bench.profiling import summarize_profile
from bench.shifting import shift_weeks
from streamproc.sandbox.stats import percentile

ROOT = Path(__file__).resolve().parents[3]


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 21)]  # 1..20
    assert percentile(values, 0.5) == 11.0  # round(0.5 * 19) = 10 -> 11
    assert percentile(values, 0.99) == 20.0
    assert percentile(values, 0.0) == 1.0
    assert percentile(list(reversed(values)), 1.0) == 20.0
    assert percentile([3.0], 0.99) == 3.0
    assert math.isnan(percentile([], 0.5))


README = """# proj

intro

## Performance

old table
| a | b |

### detail
old detail

## Next

keep me
"""


def test_replace_section_up_to_next_heading() -> None:
    out = harness.replace_section(README, "## Performance", "| new |\n")
    assert out == ("# proj\n\nintro\n\n## Performance\n\n| new |\n\n"
                   "### detail\nold detail\n\n## Next\n\nkeep me\n")  # hand-written: kept
    assert harness.replace_section(out, "## Performance", "| new |") == out  # idempotent


def test_replace_section_at_end_and_missing() -> None:
    text = "# p\n\n## Performance\n\n(filled later)\n"
    assert harness.replace_section(text, "## Performance", "x") == "# p\n\n## Performance\n\nx\n"
    assert harness.replace_section("# p\n", "## Performance", "x") == (
        "# p\n\n## Performance\n\nx\n")


def test_shift_weeks_moves_dates_only(tmp_path: Path) -> None:
    src = tmp_path / "polls.csv.gz"
    with gzip.open(src, "wt") as f:
        f.write("store_id,status,timestamp_utc\n"
                "a1,active,2023-01-25 23:59:59.5 UTC\n"
                "b2,inactive,2023-01-31 00:00:00 UTC\n"
                "c3,active,not a time\n")
    one, three = shift_weeks(src, tmp_path / "out", [1, 3])
    assert one.read_text().splitlines() == [
        "store_id,status,timestamp_utc",
        "a1,active,2023-02-01 23:59:59.5 UTC",
        "b2,inactive,2023-02-07 00:00:00 UTC",
        "c3,active,not a time",
    ]
    assert three.read_text().splitlines()[1] == "a1,active,2023-02-15 23:59:59.5 UTC"


def test_summarize_profile() -> None:
    raw = ("process 1:\"python\";thread (0x1);main (a/b/app.py:10);work (a/b/core.py:5) 30\n"
           "process 1:\"python\";thread (0x1);main (a/b/app.py:11);idle (a/b/app.py:20) 10\n")
    text = summarize_profile(raw)
    assert "samples: 40" in text
    assert "75.0%  work (b/core.py)" in text
    assert "100.0%  main (b/app.py)" in text  # lines of one function merged
    assert summarize_profile("") == "no samples\n"


def test_proc_readers() -> None:
    pid = os.getpid()
    assert harness.proc_cpu_seconds(pid) > 0
    assert harness.proc_status_kib(pid, "VmHWM") > 0
    assert harness.du_bytes(ROOT / "bench") > 0
    assert len(harness.loadavg().split()) == 3


def test_parse_replay_summary() -> None:
    line = ("replay: 1,993,029 polls sent in 13,900 messages; hours 13,900 stores; timezones "
            "13,900 stores; rejected 0; 38.4 s; 51,902 polls/s\n")
    assert harness.parse_replay_summary(line) == (1_993_029, 38.4)


def test_scale_counts_always_start_with_the_one_worker_baseline() -> None:
    from bench import scale

    assert scale.parse_counts("3,2") == [1, 2, 3]
    assert scale.parse_counts("1,1,2") == [1, 2]
    for bad in ("", "0,1", "9", "x"):
        try:
            scale.parse_counts(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad!r} accepted")


def test_scale_table_compares_with_the_first_run() -> None:
    from bench import scale

    runs = [scale.ScaleRun(1, 1000, 10.0, 2.0, 5, "0.1"),
            scale.ScaleRun(2, 1000, 5.0, 2.0, 5, "0.2")]
    text = scale.table(runs)
    assert "| 1 | 100 polls/s (10.0 s) | x1.00 |" in text
    assert "| 2 | 200 polls/s (5.0 s) | x2.00 |" in text


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_core_rate_builds_the_replay_messages_and_applies_them(tmp_path: Path) -> None:
    from bench import core_rate
    from streamproc.core.wire import decode_packed_polls

    hours = _write(tmp_path / "h.csv", "store_id,day,start_time_local,end_time_local\n"
                   "1,0,09:00:00,17:00:00\n1,1,09:00:00,17:00:00\n2,0,10:00:00,11:00:00\n")
    zones = _write(tmp_path / "z.csv", "store_id,timezone_str\n1,Asia/Tokyo\n3,Europe/Paris\n")
    rows = [f"{s},{'active' if m % 2 else 'inactive'},2023-01-2{d} 1{m}:00:00.0 UTC"
            for d in range(3) for m in range(4) for s in (1, 2, 3)]
    polls = _write(tmp_path / "p.csv", "store_id,status,timestamp_utc\n" + "\n".join(rows) + "\n")
    ref = core_rate.reference_messages(hours, zones)
    assert sorted((m.topic, m.key) for m in ref) == [
        ("hours", b"1"), ("hours", b"2"), ("tz", b"1"), ("tz", b"3")]
    proc = core_rate.new_processor()
    assert core_rate.apply_profiles(ref, proc).messages == 4
    assert proc.cache.get("1").tz == "Asia/Tokyo"
    parsed = core_rate.read_polls(polls)
    assert len(parsed) == 36
    chunked = core_rate.chunked_messages(parsed, 12)
    assert len(chunked) == 9  # 3 stores in each of 3 chunks
    run = core_rate.apply_polls(chunked, proc)
    assert run.polls == 36 and run.messages == 9
    assert proc.cache.get("2").poll_count == 12
    paced = core_rate.paced_messages(parsed, 3600.0, 0.05)  # slices of 3 minutes: each hour
    assert all(m.key is None for m in paced)
    assert sum(sum(len(p) for _s, p in decode_packed_polls(m.value)[0]) for m in paced) == 36


def test_the_replay_summary_gives_the_reference_message_count() -> None:
    from bench.ingest import replayed_counts

    line = ("replay: 0 polls sent in 0 messages; hours 11,116 stores; timezones 13,559 stores; "
            "rejected 0; 0.5 s; 0 polls/s")
    assert replayed_counts(line) == 24_675


def test_bench_events_are_the_files_polls_as_valid_poll_events(tmp_path):
    from bench import events as bench_events
    from streamproc.core.events import PollEvent, decode_event

    csv = tmp_path / "polls.csv"
    csv.write_text("store_id,status,timestamp_utc\n"
                   "a,active,2023-01-22 12:09:39.388884 UTC\nbad,on,2023-01-22 12:00:00 UTC\n"
                   "b,inactive,2023-01-22 13:00:00 UTC\nc,active,2023-01-22 14:00:00 UTC\n")
    got = [decode_event(e) for e in bench_events.poll_events(csv, 2)]
    assert got == [PollEvent("a", 1674389379388884, True), PollEvent("b", 1674392400000000, False)]
    back = bench_events.csv_of(bench_events.poll_events(csv, 3), tmp_path / "again.csv")
    assert [decode_event(e) for e in bench_events.poll_events(back, 3)] == [
        decode_event(e) for e in bench_events.poll_events(csv, 3)]


def test_the_table_keeps_its_columns_and_verdicts() -> None:
    from bench.table import Findings, Report, Row, judged, markdown

    report = Report(facts={"commit": "abc", "date": "today"})
    report.add(Findings([Row("producer rate", "5 polls/s"),
                         judged("end to end", "9 polls/s", "≥ 10 polls/s", "core 20", False),
                         judged("live", "1 ms", "< 2 ms", "—", True)], ["why it missed"]))
    assert markdown(report).splitlines() == [
        "* **date**: today", "* **commit**: abc", "",
        "| figure | value | target | baseline | verdict |", "|---|---|---|---|---|",
        "| producer rate | 5 polls/s | — | — | — |",
        "| end to end | 9 polls/s | ≥ 10 polls/s | core 20 | **missed** |",
        "| live | 1 ms | < 2 ms | — | met |", "", "* why it missed"]


def test_results_keep_what_is_written_by_hand(tmp_path: Path) -> None:
    from bench.publish import write_results

    out = tmp_path / "results.md"
    write_results(out, "| first |\n")
    assert out.read_text() == "# streamproc bench\n\n## Latest run\n\n| first |\n"
    out.write_text(out.read_text() + "\n## Past runs\n\n* by hand\n")
    write_results(out, "| second |\n")
    assert out.read_text() == ("# streamproc bench\n\n## Latest run\n\n| second |\n\n"
                               "## Past runs\n\n* by hand\n")


def test_data_discovery_prefers_a_complete_folder(tmp_path: Path) -> None:
    from bench.data import complete_set, find_data
    from bench.options import BenchOptions

    folder = tmp_path / "d"
    folder.mkdir()
    for name in ("store_status.csv", "menu_hours.csv"):
        (folder / name).write_text("")
    assert complete_set(folder) is None  # no timezones.csv
    (folder / "timezones.csv").write_text("")
    (folder / "store_status_week.csv.gz").write_bytes(b"")
    found = find_data(BenchOptions(data=folder), None, tmp_path, {}, print)
    assert found.polls == folder / "store_status_week.csv.gz"  # the week before the sample
    assert find_data(BenchOptions(), folder, tmp_path, {}, print).hours == found.hours


def test_the_http_burst_sends_every_event_once_in_bodies_under_the_cap(tmp_path, monkeypatch):
    from bench import burst

    (tmp_path / "timezones.csv").write_text("store_id,timezone_str\n1,America/Chicago\n")
    (tmp_path / "menu_hours.csv").write_text(
        "store_id,day,start_time_local,end_time_local\n1,0,09:00:00,17:00:00\n")
    rows = "".join(f"1,active,2023-01-{d:02d} 10:00:00.{i:06d} UTC\n"
                   for d in range(1, 29) for i in range(40))
    (tmp_path / "store_status.csv").write_text("store_id,status,timestamp_utc\n" + rows)
    monkeypatch.setattr(burst, "BODY_BYTES", 10_000)
    bodies = list(burst.ndjson_bodies(tmp_path))
    assert len(bodies) > 5 and all(len(body) <= 10_000 for body, _ in bodies)
    lines = [line for body, _ in bodies for line in body.splitlines()]
    assert sum(count for _, count in bodies) == len(lines) == 2 + 28 * 40
    assert burst.polls_in(tmp_path) == 28 * 40
