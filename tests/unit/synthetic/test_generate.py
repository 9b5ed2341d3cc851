"""`streamproc generate`: deterministic, realistic shape, exact headers and bad rows."""

from __future__ import annotations

import gzip
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

import pytest

from streamproc import synthetic as gen
from streamproc.cli import main
from streamproc.core.records import is_valid_store_id

try:
    from streamproc.core.timeparse import parse_timestamp
except ImportError:  # pragma: no cover - the parser is written concurrently
    parse_timestamp = None

FILES = (gen.POLLS_FILE, gen.HOURS_FILE, gen.TIMEZONES_FILE)
TS_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"
ZONES = available_timezones()


def run_cli(out: Path, *extra: str, stores: int = 300, days: int = 7) -> int:
    argv = ["generate", "--stores", str(stores), "--days", str(days), "--out", str(out)]
    return main([*argv, *extra])


def read(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="ascii", newline="") as f:
        return f.read().split("\n")[:-1]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> dict[str, list[list[str]]]:
    out = tmp_path_factory.mktemp("gen")
    assert run_cli(out, "--seed", "7") == 0
    return {name: [line.split(",") for line in read(out / name)] for name in FILES}


# ---------------------------------------------------------------------------- validity


def poll_ok(row: list[str]) -> bool:
    if len(row) != 3 or not row[0] or row[1] not in ("active", "inactive"):
        return False
    try:
        datetime.strptime(row[2], TS_FORMAT)
    except ValueError:
        return False
    return True


def hours_ok(row: list[str]) -> bool:
    if len(row) != 4 or not row[0] or row[1] not in set("0123456"):
        return False
    try:
        for text in row[2:]:
            datetime.strptime(text, "%H:%M:%S")
    except ValueError:
        return False
    return True


def tz_ok(row: list[str]) -> bool:
    return len(row) == 2 and bool(row[0]) and row[1] in ZONES


# ---------------------------------------------------------------------------- determinism


def test_same_seed_same_bytes_and_different_seed_differs(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((a, "1"), (b, "1"), (c, "2")):
        assert run_cli(out, "--seed", seed, "--bad-rows", "20", stores=80, days=3) == 0
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
        assert (a / name).read_bytes() != (c / name).read_bytes(), name


def test_gzip_is_deterministic_and_readable(tmp_path):
    for out in (tmp_path / "a", tmp_path / "b"):
        assert run_cli(out, "--gzip", stores=40, days=2) == 0
        assert not (out / gen.POLLS_FILE).exists()
    a, b = tmp_path / "a" / "store_status.csv.gz", tmp_path / "b" / "store_status.csv.gz"
    assert a.read_bytes() == b.read_bytes()
    plain = tmp_path / "plain"
    assert run_cli(plain, stores=40, days=2) == 0
    assert read(a) == read(plain / gen.POLLS_FILE)


def test_generate_is_pure():
    cfg = gen.GenConfig(stores=50, days=2, seed=3, bad_rows=10)
    one, two = gen.generate(cfg), gen.generate(cfg)
    assert (one.polls, one.hours, one.timezones) == (two.polls, two.hours, two.timezones)


# ---------------------------------------------------------------------------- format and size


def test_headers_exact(dataset):
    assert dataset[gen.POLLS_FILE][0] == ["store_id", "status", "timestamp_utc"]
    assert dataset[gen.HOURS_FILE][0] == [
        "store_id",
        "day",
        "start_time_local",
        "end_time_local",
    ]
    assert dataset[gen.TIMEZONES_FILE][0] == ["store_id", "timezone_str"]


def test_row_counts_roughly_like_the_real_week(dataset):
    polls = dataset[gen.POLLS_FILE][1:]
    per_store = Counter(row[0] for row in polls)
    # The real week: ~144 polls per store; ~97 % active.
    assert 130 <= len(polls) / len(per_store) <= 155
    active = sum(row[1] == "active" for row in polls) / len(polls)
    assert 0.93 <= active <= 0.99
    assert 0.9 * 300 <= len(dataset[gen.TIMEZONES_FILE]) - 1 <= 300
    assert 4 * 300 <= len(dataset[gen.HOURS_FILE]) - 1 <= 10 * 300


def test_every_timestamp_parses_and_lies_in_range(dataset):
    start, end = datetime(2023, 1, 18, tzinfo=UTC), datetime(2023, 1, 25, tzinfo=UTC)
    for row in dataset[gen.POLLS_FILE][1:]:
        assert poll_ok(row), row
        ts = datetime.strptime(row[2], TS_FORMAT).replace(tzinfo=UTC)
        assert start <= ts < end
        if parse_timestamp is not None:
            assert parse_timestamp(row[2]) == gen.to_us(ts)


def test_rows_are_not_sorted(dataset):
    polls = dataset[gen.POLLS_FILE][1:]
    stamps = [row[2] for row in polls]
    ids = [row[0] for row in polls]
    assert stamps != sorted(stamps)
    assert ids != sorted(ids)


def test_store_ids_look_real_and_count_is_exact(dataset):
    ids = set()
    for name in FILES:
        ids.update(row[0] for row in dataset[name][1:])
    assert len(ids) == 300
    for sid in ids:
        assert sid.isdigit() and 15 <= len(sid) <= 19 and int(sid) < 2**63
        assert is_valid_store_id(sid)


def test_duplicates_with_some_conflicts(dataset):
    statuses: dict[tuple[str, str], list[str]] = defaultdict(list)
    for sid, status, ts in dataset[gen.POLLS_FILE][1:]:
        statuses[sid, ts].append(status)
    repeated = [s for s in statuses.values() if len(s) > 1]
    assert repeated
    assert any(len(set(s)) > 1 for s in repeated)
    polls = len(dataset[gen.POLLS_FILE]) - 1
    assert len(repeated) <= 0.01 * polls


def test_no_duplicates_when_disabled():
    data = gen.generate(gen.GenConfig(stores=40, days=2, duplicates=0.0))
    assert data.duplicates == 0
    keys = [tuple(line.split(",")[::2]) for line in data.polls]
    assert len(keys) == len(set(keys))


# ---------------------------------------------------------------------------- shape features


def test_shape_features_present(dataset):
    polls = dataset[gen.POLLS_FILE][1:]
    hours = dataset[gen.HOURS_FILE][1:]
    zones = dataset[gen.TIMEZONES_FILE][1:]
    polled = {row[0] for row in polls}
    with_hours = {row[0] for row in hours}
    with_tz = {row[0] for row in zones}

    assert any(row[3] < row[2] for row in hours), "an overnight row"
    assert any(row[3] == row[2] for row in hours), "a full-day row"
    per_day = Counter((row[0], row[1]) for row in hours)
    assert any(n >= 2 for n in per_day.values()), "a split day"
    days = defaultdict(set)
    for row in hours:
        days[row[0]].add(row[1])
    assert any(len(d) < 7 for d in days.values()), "a closed weekday"

    assert polled - with_hours, "a polled store with no hours (24x7)"
    assert polled - with_tz, "a store with no time zone row"
    assert with_tz - polled - with_hours, "a store only in timezones.csv"
    assert with_hours - polled, "a store with hours but no polls"

    mix = Counter(row[1] for row in zones)
    assert mix.most_common(1)[0][0] == "America/New_York"
    assert {"America/Los_Angeles", "America/Chicago", "America/Phoenix"} <= set(mix)
    assert any(z.startswith("Europe/") for z in mix) and any(z.startswith("Asia/") for z in mix)


def test_a_flaky_store_has_a_multi_poll_outage(dataset):
    series: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for sid, status, ts in dataset[gen.POLLS_FILE][1:]:
        series[sid].append((ts, status))

    def longest_outage(points: list[tuple[str, str]]) -> int:
        best = run = 0
        for _, status in sorted(points):
            run = run + 1 if status == "inactive" else 0
            best = max(best, run)
        return best

    assert max(longest_outage(points) for points in series.values()) >= 3
    healthy = sum(all(s == "active" for _, s in points) for points in series.values())
    assert healthy >= 0.4 * len(series)


# ---------------------------------------------------------------------------- bad rows


@pytest.mark.parametrize("k", [0, 1, 2, 3, 17, 60])
def test_bad_rows_exactly_k(tmp_path, k):
    assert run_cli(tmp_path, "--bad-rows", str(k), "--seed", "5", stores=60, days=2) == 0
    checks = {gen.POLLS_FILE: poll_ok, gen.HOURS_FILE: hours_ok, gen.TIMEZONES_FILE: tz_ok}
    bad = {}
    for name, ok in checks.items():
        rows = [line.split(",") for line in read(tmp_path / name)[1:]]
        bad[name] = sum(not ok(row) for row in rows)
    assert sum(bad.values()) == k
    split = gen.split_bad_rows(k)
    assert bad == {
        gen.POLLS_FILE: split["polls"],
        gen.HOURS_FILE: split["hours"],
        gen.TIMEZONES_FILE: split["timezones"],
    }
    if k >= 3:
        assert split["hours"] >= 1 and split["timezones"] >= 1


def test_bad_rows_cover_every_kind():
    data = gen.generate(gen.GenConfig(stores=30, days=1, bad_rows=40))
    polls = [line.rstrip("\n").split(",") for line in data.polls]
    bad = [row for row in polls if not poll_ok(row)]
    assert any(len(row) == 2 for row in bad) and any(len(row) == 4 for row in bad)
    assert any(len(row) == 3 and row[0] == "" for row in bad)
    assert any(len(row) == 3 and row[1] not in ("active", "inactive") for row in bad)
    assert any(len(row) == 3 and row[0] and row[1] == "active" for row in bad)  # timestamp
    hours = "".join(data.hours)
    assert ",7,10:00:00" in hours and ",25:00:00," in hours
    assert "Mars/Olympus_Mons" in "".join(data.timezones)


def test_bad_rows_are_spread_through_the_polls_file():
    data = gen.generate(gen.GenConfig(stores=50, days=2, bad_rows=30))
    positions = [
        i for i, line in enumerate(data.polls) if not poll_ok(line.rstrip("\n").split(","))
    ]
    assert len(positions) == data.bad["polls"]
    assert positions[0] < len(data.polls) // 2 < positions[-1]


# ---------------------------------------------------------------------------- DST


def test_dst_range_crosses_a_us_transition(tmp_path, capsys):
    assert run_cli(tmp_path, "--dst", stores=60, days=7) == 0
    assert "US 2023-03-12 07:00 UTC" in capsys.readouterr().err
    stamps = sorted(line.split(",")[2] for line in read(tmp_path / gen.POLLS_FILE)[1:])
    first = datetime.strptime(stamps[0], TS_FORMAT).replace(tzinfo=UTC)
    last = datetime.strptime(stamps[-1], TS_FORMAT).replace(tzinfo=UTC)
    zones = {line.split(",")[1] for line in read(tmp_path / gen.TIMEZONES_FILE)[1:]}
    crossing = [
        z
        for z in zones
        if z.startswith("America/")
        and first.astimezone(ZoneInfo(z)).utcoffset() != last.astimezone(ZoneInfo(z)).utcoffset()
    ]
    assert crossing
    # Saturday-night rows that run past the missing 02:00 on Sunday 2023-03-12.
    hours = read(tmp_path / gen.HOURS_FILE)
    assert any(line.endswith(",5,20:00:00,03:00:00") for line in hours)


def test_dst_with_a_start_that_crosses_nothing_fails(tmp_path):
    assert run_cli(tmp_path, "--dst", "--start", "2023-01-18", stores=20, days=3) == 2


def test_european_change_is_crossed_with_enough_days():
    start = gen.to_us(gen.DST_START)
    assert gen.crossed_transitions("Europe/Berlin", start, start + 7 * 86_400_000_000) == []
    eu = gen.crossed_transitions("Europe/Berlin", start, start + 19 * 86_400_000_000)
    assert eu == [datetime(2023, 3, 26, 1, tzinfo=UTC)]


def test_explicit_start(tmp_path):
    assert run_cli(tmp_path, "--start", "2024-06-01T00:00:00Z", stores=20, days=1) == 0
    stamps = [line.split(",")[2] for line in read(tmp_path / gen.POLLS_FILE)[1:]]
    assert all(s.startswith("2024-06-01 ") for s in stamps)


def test_summary_line(tmp_path, capsys):
    assert run_cli(tmp_path, "--bad-rows", "5", stores=20, days=1) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert out[0].startswith("generated 20 stores, ") and "5 bad rows" in out[0]
