"""The pure pieces of the scale and minute-poll steps (bench/growth.py, issue 24): the
minute-poll file, the figures' arithmetic, the rows they print, the sizes ``--quick`` and
the options choose. The steps themselves run in tests/integration/test_bench_growth.py."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

import pytest

from bench import growth, harness
from bench.options import BenchOptions
from bench.run import add_arguments
from streamproc.core.records import US_PER_MINUTE
from streamproc.core.timeparse import parse_timestamp
from streamproc.sandbox.cli import CliFailed

START = 1_674_000_000_000_000  # 2023-01-18 00:00 UTC


def test_minute_polls_one_per_store_and_minute(tmp_path: Path) -> None:
    path = tmp_path / "polls.csv"
    n = growth.write_minute_polls(path, ["a", "b", "c"], START, 5)
    lines = path.read_text().splitlines()
    assert lines[0] == "store_id,status,timestamp_utc"
    assert n == 15 == len(lines) - 1
    per_store: dict[str, list[int]] = {}
    statuses = set()
    for line in lines[1:]:
        sid, status, ts = line.split(",")
        per_store.setdefault(sid, []).append(parse_timestamp(ts))
        statuses.add(status)
    assert statuses == {"active", "inactive"}
    for times in per_store.values():
        assert len(times) == 5
        assert all(b - a == US_PER_MINUTE for a, b in zip(times, times[1:], strict=False))
        assert START <= times[0] < START + US_PER_MINUTE


def test_store_ids_in_first_seen_order(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("store_id,status,timestamp_utc\nx,active,t\ny,active,t\nx,inactive,t\n")
    assert growth.store_ids_of(path) == ["x", "y"]


def test_per_poll_and_sizes() -> None:
    assert growth.per_poll(1_000, 3_000, 10) == 200
    assert math.isnan(growth.per_poll(0, 5, 0))
    assert growth.fmt_size(900) == "900 B"
    assert growth.fmt_size(20 * 1024) == "20.0 KiB"
    assert growth.fmt_size(30 * 1024 * 1024) == "30.0 MiB"


def test_changelog_bytes_counts_segments_of_the_pipeline_only(tmp_path: Path) -> None:
    (tmp_path / "app-x1-store-state-changelog-0").mkdir()
    (tmp_path / "app-x1-store-state-changelog-0" / "0.log").write_bytes(b"a" * 100)
    (tmp_path / "app-x1-store-state-changelog-0" / "0.index").write_bytes(b"i" * 50)
    (tmp_path / "app-x1-store-state-changelog-1").mkdir()
    (tmp_path / "app-x1-store-state-changelog-1" / "7.log").write_bytes(b"b" * 30)
    (tmp_path / "app-x2-store-state-changelog-0").mkdir()  # another pipeline
    (tmp_path / "app-x2-store-state-changelog-0" / "0.log").write_bytes(b"c" * 1000)
    (tmp_path / "polls-x1-0").mkdir()  # an input topic, not a changelog
    (tmp_path / "polls-x1-0" / "0.log").write_bytes(b"d" * 1000)
    assert growth.changelog_bytes(tmp_path, "app-x1") == 130


def test_rows_judge_against_the_same_runs_baseline() -> None:
    one = growth.ScaleRun(100, 10_000, 1.0, 100 * 2**20, "1 1 1")
    slow = growth.ScaleRun(1_000, 100_000, 20.0, 300 * 2**20, "2 2 2")  # 0.5x
    fast = growth.ScaleRun(1_000, 100_000, 11.0, 300 * 2**20, "2 2 2")  # 0.91x
    assert growth.scale_rows(one, slow)[0].verdict != growth.scale_rows(one, fast)[0].verdict
    row = growth.scale_rows(one, slow)[0]
    assert "x0.50 of 1x" in row.value and "100 stores" in row.baseline
    run = growth.MinuteRun(10, 2, 28_800, 100, 5_000.0, 10**6, 250_000, 0.1, "1 1 1")
    rows = growth.minute_rows(run)
    assert "5,000 B per poll" in rows[0].value and "missed" in rows[0].line()
    assert "24.4 KiB per store" in rows[1].value


def test_the_batch_row_judges_the_10x_peak_and_shows_the_time() -> None:
    one = growth.BatchRun(100, 2.0, 60 * 2**20, "1 1 1")
    ten = growth.BatchRun(1_000, 18.0, 300 * 2**20, "2 2 2")
    (row,) = growth.batch_report_rows(one, ten)
    assert row.verdict == "met" and "300 MiB (in 18.0 s, x9.0 the 1x time" in row.value
    assert "100 stores: 60 MiB in 2.0 s" in row.baseline and "1,536 MiB" in row.target
    heavy = growth.BatchRun(1_000, 18.0, 2 * 2**30, "2 2 2")
    assert growth.batch_report_rows(one, heavy)[0].verdict != "met"


def test_cli_peak_is_the_commands_own_peak(tmp_path: Path) -> None:
    """Not this process's: Linux carries a parent's high-water mark through vfork and exec
    into the child's ru_maxrss (the bench once said 979 MiB for a 60 MiB command)."""
    env = dict(os.environ)
    ballast = bytearray(600 * 2**20)  # this process: well above what `report --help` needs
    ballast[:: 4096] = b"x" * len(ballast[:: 4096])  # touched, so resident
    seconds, peak, out = harness.cli_peak(env, "report", "--help")
    assert "--polls" in out and seconds > 0 and 5 * 2**20 < peak < 300 * 2**20
    del ballast
    with pytest.raises(CliFailed, match="exited 2"):
        harness.cli_peak(env, "report", "--polls", str(tmp_path / "none.csv"), "--hours", "h",
                         "--timezones", "t", "--out", str(tmp_path / "o.csv"))


def _options(*argv: str) -> BenchOptions:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return BenchOptions.from_args(parser.parse_args(list(argv)))


def test_sizes_quick_defaults_and_options() -> None:
    quick, full = growth.sizes(_options("--quick")), growth.sizes(_options())
    assert quick.scale_stores < full.scale_stores
    assert quick.minute_stores < full.minute_stores
    chosen = growth.sizes(_options("--quick", "--scale-stores", "7", "--minute-stores", "3",
                                   "--minute-days", "4"))
    assert (chosen.scale_stores, chosen.minute_stores, chosen.minute_days) == (7, 3, 4)
    assert _options("--skip", "scale,minute").runs("scale") is False


def test_state_memory_counts_the_states() -> None:
    from bench import state_memory

    small = state_memory.measure("hourly", 1, state_memory.US_PER_HOUR, 5)
    big = state_memory.measure("hourly", 4, state_memory.US_PER_HOUR, 5)
    assert (small.polls, big.polls) == (24, 96)
    assert 0 < small.memory < big.memory
    assert big.row > small.row >= 24 * 9
